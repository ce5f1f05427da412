package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

// SchemaVersion is the version of the JSON form of a Plan. It changes
// whenever a field changes meaning or a reader would need a new field to
// apply the plan faithfully; Decode refuses other versions.
const SchemaVersion = 2

// Plan is what a deployment of one application would do: the strategy and
// why, the stages, the changes, and the fingerprint of what it was computed
// from. It is a value: it prints (WriteText), marshals to JSON
// (json.Marshal), reads back (Decode) and can be applied later once
// Verify accepts the current state.
type Plan struct {
	SchemaVersion int `json:"schemaVersion"`
	App           App `json:"app"`
	// Head is the commit being deployed.
	Head Commit `json:"head"`
	// Running is the commit of the last successful deployment; nil when
	// none is recorded (the first deployment).
	Running *Commit `json:"running,omitempty"`
	// Base is the commit the offline changes were computed against: the
	// running commit, or the base revision given when there is none. Nil
	// when there was nothing to compare with (every object is added) or for
	// live plans.
	Base *Commit `json:"base,omitempty"`
	// Mode says what the changes compare: ModeOffline (two commits) or
	// ModeLive (the cluster against a server-side dry run of the head).
	Mode Mode `json:"mode"`
	// CreatedAt is when the plan was made (the time given to the planner).
	CreatedAt time.Time `json:"createdAt"`

	Strategy Strategy `json:"strategy"`
	// Reason says, for people, why the strategy was chosen (PipeCD's
	// wording, e.g. "Sync progressively because of updating image web from
	// v1 to v2").
	Reason string `json:"reason"`
	// Rule names the planner rule that decided, for programs.
	Rule Rule `json:"rule"`
	// Version describes the artifacts deployed (container image tags for
	// Kubernetes, as PipeCD shows them); empty when unknown.
	Version string `json:"version,omitempty"`
	// AutoRollback says whether a failed deployment is rolled back.
	AutoRollback bool `json:"autoRollback"`
	// Stages are the stages that would run, in order, followed by the
	// rollback stages (Stage.Rollback) that run only on failure.
	Stages []Stage `json:"stages"`
	// MinDuration is the least time the stages take: the sum of the WAIT
	// and ANALYSIS durations of the stages that are not skipped. Applying
	// and rollouts add to it.
	MinDuration config.Duration `json:"minDuration"`
	// WaitsForApproval is true when a WAIT_APPROVAL stage would run: the
	// deployment pauses until someone approves.
	WaitsForApproval bool `json:"waitsForApproval,omitempty"`

	// Changes are the per-object changes, desired-state order first, then
	// the deleted objects.
	Changes []Change `json:"changes"`
	Summary Summary  `json:"summary"`
	// Compared says what the changes compare when the platform says it
	// otherwise than Mode and Base do (e.g. a workspace's state and the
	// head's configuration, and the binary that planned).
	Compared string `json:"compared,omitempty"`
	// Counts says how much changes in the platform's own terms (e.g. "1 to
	// add, 0 to change, 1 to destroy"); empty means Summary says it.
	Counts string `json:"counts,omitempty"`
	// Destroys names what the deployment destroys for good (e.g. the
	// infrastructure resources deleted or replaced): called out for people
	// to see.
	Destroys []string `json:"destroys,omitempty"`
	// Details are the platform's own facts about the plan, in its own
	// schema, for programs (e.g. internal/platform/terraform's Result: the
	// binary, the workspace, the counts, the resources and outputs).
	Details json.RawMessage `json:"details,omitempty"`
	// Source fingerprints the inputs, for Verify.
	Source Fingerprint `json:"source"`
}

// App identifies the application a plan is for.
type App struct {
	Name string `json:"name"`
	// Kind is the application kind, as the config names it (e.g.
	// KubernetesApp).
	Kind string `json:"kind"`
	// Dir is the application directory relative to the repository root.
	Dir string `json:"dir"`
	// File is the config file relative to the repository root.
	File   string            `json:"file,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// AppOf describes a configured application.
func AppOf(a *config.App) App {
	var labels map[string]string
	if len(a.Labels) > 0 {
		labels = maps.Clone(a.Labels)
	}
	return App{Name: a.Name, Kind: string(a.Kind), Dir: a.Dir, File: a.File, Labels: labels}
}

// Commit is a commit as a plan shows it.
type Commit struct {
	Hash string `json:"hash"`
	// Subject is the first line of the commit message.
	Subject string `json:"subject,omitempty"`
}

// Short is the abbreviated hash (7 characters).
func (c Commit) Short() string {
	if len(c.Hash) > 7 {
		return c.Hash[:7]
	}
	return c.Hash
}

// Subject returns the first line of a commit message.
func Subject(message string) string {
	s, _, _ := strings.Cut(strings.TrimLeft(message, "\n"), "\n")
	return strings.TrimSpace(s)
}

// Mode is what a plan's changes compare.
type Mode string

const (
	// ModeOffline compares the head's desired state with the desired state
	// of the last successful deployment (or a base revision): no cluster.
	ModeOffline Mode = "offline"
	// ModeLive compares the live objects with a server-side dry run of the
	// head's desired state.
	ModeLive Mode = "live"
)

// Strategy is how a deployment syncs (PipeCD's model.SyncStrategy names).
type Strategy string

const (
	// StrategyQuickSync applies everything at once (the kind's sync stage).
	StrategyQuickSync Strategy = "QUICK_SYNC"
	// StrategyPipeline runs the configured pipeline.
	StrategyPipeline Strategy = "PIPELINE"
)

// ParseStrategy reads a strategy as the CLI spells it: "quick" (or
// "quick-sync", "QUICK_SYNC"), "pipeline", or "" / "auto" for letting the
// planner decide ("" is returned).
func ParseStrategy(s string) (Strategy, error) {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", "_")) {
	case "", "auto":
		return "", nil
	case "quick", "quick_sync", "quicksync", "sync":
		return StrategyQuickSync, nil
	case "pipeline", "progressive":
		return StrategyPipeline, nil
	}
	return "", fmt.Errorf("unknown strategy %q: use quick, pipeline or auto", s)
}

// Rule names the planner rule that decided a strategy.
type Rule string

// The rules: those every kind shares, in the order New tries them, then the
// Kubernetes planner's, in its order.
const (
	RuleForced               Rule = "forced"
	RuleNoPipeline           Rule = "no-pipeline"
	RuleAlwaysUsePipeline    Rule = "always-use-pipeline"
	RuleCommitMatchPipeline  Rule = "commit-matcher-pipeline"
	RuleCommitMatchQuickSync Rule = "commit-matcher-quick-sync"
	RuleFirstDeployment      Rule = "first-deployment"
	RuleNoChange             Rule = "no-change"
	RuleNoRunningWorkloads   Rule = "no-running-workloads"
	RuleNoNewWorkloads       Rule = "no-new-workloads"
	RuleImageChange          Rule = "image-change"
	RulePodTemplateChange    Rule = "pod-template-change"
	RuleConfigDeleted        Rule = "config-deleted"
	RuleConfigAdded          Rule = "config-added"
	RuleConfigChange         Rule = "config-change"
	RuleScale                Rule = "scale"
	RuleOtherChange          Rule = "other-change"
)

// Action is what happens to an object.
type Action string

const (
	ActionAdd    Action = "add"
	ActionChange Action = "change"
	ActionDelete Action = "delete"
)

// Languages of Change.Diff.
const (
	// LanguageDiff is a unified diff.
	LanguageDiff = "diff"
	// LanguageHCL is the HashiCorp configuration language, as terraform
	// and tofu render their plans.
	LanguageHCL = "hcl"
)

// Change is what a deployment does to one object of the platform. It is
// neutral to the platform: Kubernetes objects, infrastructure resources and
// Lambda functions are all a key, an action and a diff text.
type Change struct {
	// Key identifies the object; for Kubernetes PipeCD's resource key
	// group:Kind:namespace:name (e.g. apps:Deployment:default:web).
	Key    string `json:"key"`
	Action Action `json:"action"`
	// Language is the syntax of Diff (LanguageDiff, LanguageHCL).
	Language string `json:"language"`
	// Diff shows the change with secrets masked: for LanguageDiff a unified
	// diff of the normalised YAML (an added object is all "+" lines, a
	// deleted one all "-" lines).
	Diff string `json:"diff"`
	// Source is where the desired object came from (file:line), when known.
	Source string `json:"source,omitempty"`
	// Note qualifies the action, e.g. that a deleted object is kept because
	// pruning is off.
	Note string `json:"note,omitempty"`
}

// Summary counts the changes.
type Summary struct {
	Added   int `json:"added"`
	Changed int `json:"changed"`
	Deleted int `json:"deleted"`
}

// Summarize counts changes by action.
func Summarize(changes []Change) Summary {
	var s Summary
	for _, c := range changes {
		switch c.Action {
		case ActionAdd:
			s.Added++
		case ActionChange:
			s.Changed++
		case ActionDelete:
			s.Deleted++
		}
	}
	return s
}

// Empty reports whether nothing changes.
func (s Summary) Empty() bool { return s.Added+s.Changed+s.Deleted == 0 }

// String is "1 added, 2 changed, 0 deleted", or "no changes".
func (s Summary) String() string {
	if s.Empty() {
		return "no changes"
	}
	return fmt.Sprintf("%d added, %d changed, %d deleted", s.Added, s.Changed, s.Deleted)
}

// HasChanges reports whether applying the plan would change anything
// (`pipe plan --detailed-exitcode` exits 3 when it does).
func (p *Plan) HasChanges() bool { return !p.Summary.Empty() }

// Verify reports whether the plan may still be applied: it returns a
// *StaleError saying what changed when the current fingerprint differs from
// the plan's.
func (p *Plan) Verify(current Fingerprint) error {
	return p.Source.Verify(current)
}

// Encode writes the plan's JSON form, indented, without escaping <, >
// and & (Decode reads it back; json.Marshal gives the same value).
func (p *Plan) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// Decode reads a plan from its JSON form, refusing other schema versions.
func Decode(data []byte) (*Plan, error) {
	var head struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a plan: %w", err)
	}
	switch {
	case head.SchemaVersion == nil:
		return nil, errors.New("not a plan: no schemaVersion")
	case *head.SchemaVersion > SchemaVersion:
		return nil, fmt.Errorf("the plan has schema version %d, this pipe reads version %d: use a newer pipe", *head.SchemaVersion, SchemaVersion)
	case *head.SchemaVersion != SchemaVersion:
		return nil, fmt.Errorf("the plan has schema version %d, this pipe reads version %d: make the plan again", *head.SchemaVersion, SchemaVersion)
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("malformed plan: %w", err)
	}
	if p.Stages == nil {
		p.Stages = []Stage{}
	}
	if p.Changes == nil {
		p.Changes = []Change{}
	}
	return &p, nil
}
