package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gitops-pipe/pipe/internal/pathpattern"
)

// Trigger says which events start a deployment of the application.
type Trigger struct {
	// Deploy when a commit touches the application.
	OnCommit OnCommit `json:"onCommit,omitempty"`
	// Deploy on a sync command (`pipe sync`).
	OnCommand OnCommand `json:"onCommand,omitempty"`
	// Deploy when the live state drifted from Git (`pipe drift --sync`).
	OnOutOfSync OnOutOfSync `json:"onOutOfSync,omitempty"`
	// Deploy when another application's postSync chain names this one.
	OnChain OnChain `json:"onChain,omitempty"`
}

// OnCommit controls triggering by commits.
type OnCommit struct {
	// Do not deploy when a commit touches the application.
	Disabled bool `json:"disabled,omitempty"`
	// Paths (patterns relative to the repository root, `*` and `**` allowed)
	// whose changes also touch the application; the application directory always does.
	Paths []string `json:"paths,omitempty"`
	// Paths (patterns as in paths) whose changes never touch the application; they win over paths.
	Ignores []string `json:"ignores,omitempty"`
}

// Validate implements validatable.
func (o *OnCommit) Validate(c *Checker, p string) {
	for i, pat := range o.Paths {
		checkPathPattern(c, fmt.Sprintf("%s.paths[%d]", p, i), pat)
	}
	for i, pat := range o.Ignores {
		checkPathPattern(c, fmt.Sprintf("%s.ignores[%d]", p, i), pat)
	}
}

// checkPathPattern checks a repository path pattern (trigger paths, skipOn paths).
func checkPathPattern(c *Checker, p, pat string) {
	switch {
	case strings.TrimSpace(pat) == "":
		c.Errorf(p, "", "path pattern is empty")
	case strings.HasPrefix(pat, "/"):
		c.Errorf(p, "patterns are relative to the repository root: drop the leading /", "absolute path pattern %q", pat)
	case pat == ".." || strings.HasPrefix(pat, "../") || strings.Contains(pat, "/../"):
		c.Errorf(p, "patterns are relative to the repository root", "path pattern %q leaves the repository", pat)
	default:
		// The same compiler the trigger rules use, so what validates matches.
		if _, err := pathpattern.Compile(pat); err != nil {
			c.Errorf(p, "a pattern uses `*`, `**`, `?` and `[abc]` (PipeCD's syntax); escape other special characters with \\", "invalid path pattern %q: %v", pat, err)
		}
	}
}

// OnCommand controls triggering by sync commands.
type OnCommand struct {
	// Do not deploy on a sync command.
	Disabled bool `json:"disabled,omitempty"`
}

// OnOutOfSync controls triggering by drift.
type OnOutOfSync struct {
	// Do not deploy when the application is out of sync.
	Disabled bool `json:"disabled,omitempty" jsonschema:"default=true"`
	// Minimum time since the last deployment before drift triggers a new one.
	MinWindow Duration `json:"minWindow,omitempty" jsonschema:"default=5m"`
}

// OnChain controls triggering as a node of a deployment chain.
type OnChain struct {
	// Do not deploy when a deployment chain names the application.
	Disabled bool `json:"disabled,omitempty" jsonschema:"default=true"`
}

// PostSync holds what runs once a deployment was triggered.
type PostSync struct {
	// Applications deployed after this one succeeded.
	Chain *DeploymentChain `json:"chain,omitempty"`
}

// DeploymentChain lists the applications deployed after this one.
type DeploymentChain struct {
	// Filters selecting the applications to deploy next; each needs name, kind or labels.
	Applications []ChainApplicationMatcher `json:"applications"`
}

// Validate implements validatable.
func (d *DeploymentChain) Validate(c *Checker, p string) {
	if len(d.Applications) == 0 {
		c.Errorf(p+".applications", "add at least one application (name, kind or labels) or remove postSync.chain",
			"a deployment chain needs applications")
	}
}

// ChainApplicationMatcher selects applications of a deployment chain. All
// the given filters must match.
type ChainApplicationMatcher struct {
	// The application name.
	Name string `json:"name,omitempty"`
	// The application kind: KUBERNETES, TERRAFORM, LAMBDA, CLOUDRUN or ECS (PipeCD's names).
	Kind string `json:"kind,omitempty" jsonschema:"enum=KUBERNETES,enum=TERRAFORM,enum=LAMBDA,enum=CLOUDRUN,enum=ECS"`
	// Labels the application must have.
	Labels map[string]string `json:"labels,omitempty"`
}

// chainKinds maps PipeCD's application kind names to pipe's kinds.
var chainKinds = map[string]Kind{
	"KUBERNETES": KindKubernetesApp,
	"TERRAFORM":  KindTerraformApp,
	"LAMBDA":     KindLambdaApp,
	"CLOUDRUN":   KindCloudRunApp,
	"ECS":        KindECSApp,
}

// AppKind returns the kind the matcher selects, or "" when it selects any.
func (m ChainApplicationMatcher) AppKind() Kind { return chainKinds[m.Kind] }

// Validate implements validatable.
func (m *ChainApplicationMatcher) Validate(c *Checker, p string) {
	if m.Name == "" && m.Kind == "" && len(m.Labels) == 0 {
		c.Errorf(p, "set `name`, `kind` or `labels` to select applications", "a chain application needs at least one filter")
	}
	if m.Kind == "" {
		return
	}
	if _, ok := chainKinds[m.Kind]; ok {
		return
	}
	names := make([]string, 0, len(chainKinds))
	for k := range chainKinds {
		names = append(names, k)
	}
	sort.Strings(names)
	hint := enumHint(m.Kind, names)
	for name, k := range chainKinds {
		if string(k) == m.Kind {
			hint = fmt.Sprintf("chains use PipeCD's kind names: write %s", name)
		}
	}
	c.Errorf(p+".kind", hint, "unknown application kind %q", m.Kind)
}
