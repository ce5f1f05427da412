package config

import (
	"fmt"
	"net/mail"
	"strings"
)

// PipeSpec is the repository config, `.pipe/config.yaml` of kind Pipe: what
// PipeCD keeps in its piped configuration, for one repository. Field names
// follow PipeCD's piped config so that its users can carry theirs over;
// settings that only make sense for a long-running agent with a control
// plane are not carried (see unknownFieldHint). Credentials are never
// written inline (see pipe_secret.go).
type PipeSpec struct {
	// The platforms applications are deployed to, with how to reach them.
	PlatformProviders []PlatformProvider `json:"platformProviders,omitempty"`
	// The metric providers ANALYSIS stages query.
	AnalysisProviders []AnalysisProvider `json:"analysisProviders,omitempty"`
	// Where notifications are sent, and which ones.
	Notifications Notifications `json:"notifications"`
	// How secrets in application configs are encrypted.
	SecretManagement *SecretManagement `json:"secretManagement,omitempty"`
	// Helm chart repositories referred to by name in helmChart.repository.
	ChartRepositories []ChartRepository `json:"chartRepositories,omitempty"`
	// Helm OCI registries to log in to.
	ChartRegistries []ChartRegistry `json:"chartRegistries,omitempty"`
	// How pipe records deployments in Git.
	Git PipeGit `json:"git"`
}

// PipeGit configures how pipe stores its state in the repository.
type PipeGit struct {
	// The notes ref deployment records are written to; it must be under
	// refs/notes/.
	NotesRef string `json:"notesRef" jsonschema:"default=refs/notes/pipe"`
	// The remote records are fetched from and pushed to.
	Remote string `json:"remote" jsonschema:"default=origin"`
	// The author and committer of the notes and lock commits; default
	// pipe <pipe@localhost> (name and e-mail default separately).
	Author GitAuthor `json:"author"`
}

// GitAuthor is the identity of the commits pipe writes.
type GitAuthor struct {
	// The author name.
	Name string `json:"name,omitempty"`
	// The author e-mail address.
	Email string `json:"email,omitempty"`
}

// AnalysisProviderTypes maps each analysis provider name to its type, for
// the checks of ANALYSIS stages (CheckContext.AnalysisProviders).
func (s *PipeSpec) AnalysisProviderTypes() map[string]string {
	m := make(map[string]string, len(s.AnalysisProviders))
	for _, p := range s.AnalysisProviders {
		if p.Name != "" {
			m[p.Name] = p.Type
		}
	}
	return m
}

// PlatformProvider returns the platform provider with that name.
func (s *PipeSpec) PlatformProvider(name string) (*PlatformProvider, bool) {
	for i := range s.PlatformProviders {
		if s.PlatformProviders[i].Name == name {
			return &s.PlatformProviders[i], true
		}
	}
	return nil, false
}

// AnalysisProvider returns the analysis provider with that name.
func (s *PipeSpec) AnalysisProvider(name string) (*AnalysisProvider, bool) {
	for i := range s.AnalysisProviders {
		if s.AnalysisProviders[i].Name == name {
			return &s.AnalysisProviders[i], true
		}
	}
	return nil, false
}

// unknownFieldHint explains piped settings that pipe does not carry over.
func (*PipeSpec) unknownFieldHint(key string) string {
	switch key {
	case "projectID", "pipedID", "pipedKeyFile", "pipedKeyData", "apiAddress", "webAddress", "name":
		return "a piped setting for the PipeCD control plane; pipe has none: remove it"
	case "syncInterval", "appConfigSyncInterval":
		return "pipe does not poll: it runs when CI runs it; remove it"
	case "repositories":
		return "pipe works on the repository it runs in; remove it"
	case "appSelector":
		return "select applications on the command line (`pipe apps`, `--app`); remove it"
	case "eventWatcher":
		return "event watchers are .pipe/ files of kind EventWatcher; pipe has no piped-level settings for them"
	case "cloudProviders":
		return "renamed to `platformProviders` (PipeCD deprecated cloudProviders)"
	case "analysisProvider", "platformProvider", "chartRepository", "chartRegistry":
		return fmt.Sprintf("did you mean `%ss` (a list)?", key)
	}
	return ""
}

// unknownFieldHint explains PipeCD's piped git settings.
func (*PipeGit) unknownFieldHint(key string) string {
	switch key {
	case "username":
		return "use `author.name`"
	case "email":
		return "use `author.email`"
	case "sshKeyFile", "sshKeyData", "sshConfigFilePath", "host", "hostName", "passwordAuth":
		return "pipe uses the credentials of the CI checkout (git remote configuration); remove it"
	}
	return ""
}

// Validate implements validatable: names are unique in each list, and each
// notification route names an existing receiver (see Notifications).
func (s *PipeSpec) Validate(c *Checker, path string) {
	names := func(n int, get func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = get(i)
		}
		return out
	}
	c.checkUnique(path+".platformProviders", "name", "platform provider",
		names(len(s.PlatformProviders), func(i int) string { return s.PlatformProviders[i].Name }))
	c.checkUnique(path+".analysisProviders", "name", "analysis provider",
		names(len(s.AnalysisProviders), func(i int) string { return s.AnalysisProviders[i].Name }))
	c.checkUnique(path+".chartRepositories", "name", "chart repository",
		names(len(s.ChartRepositories), func(i int) string { return s.ChartRepositories[i].Name }))
	c.checkUnique(path+".chartRegistries", "address", "chart registry",
		names(len(s.ChartRegistries), func(i int) string { return s.ChartRegistries[i].Address }))
}

// checkUnique reports each repeated non-empty value of field in a list.
func (c *Checker) checkUnique(listPath, field, what string, values []string) {
	first := map[string]int{}
	for i, v := range values {
		if v == "" {
			continue
		}
		if j, dup := first[v]; dup {
			p := fmt.Sprintf("%s[%d].%s", listPath, i, field)
			hint := fmt.Sprintf("%s must be unique; first defined at line %d", field, c.PosOf(fmt.Sprintf("%s[%d].%s", listPath, j, field)).Line)
			c.Errorf(p, hint, "duplicate %s %s %q", what, field, v)
			continue
		}
		first[v] = i
	}
}

// Validate implements validatable.
func (g *PipeGit) Validate(c *Checker, path string) {
	if msg := notesRefProblem(g.NotesRef); msg != "" {
		c.Errorf(path+".notesRef", "e.g. refs/notes/pipe", "invalid notesRef %q: %s", truncate(g.NotesRef, 60), msg)
	}
	if strings.TrimSpace(g.Remote) == "" {
		c.Errorf(path+".remote", "the name of a Git remote, e.g. origin", "remote must not be empty")
	}
	if g.Author.Email != "" {
		if _, err := mail.ParseAddress(g.Author.Email); err != nil || strings.ContainsAny(g.Author.Email, "<>") {
			c.Errorf(path+".author.email", "write a bare address, e.g. ci@example.com", "invalid e-mail address %q", truncate(g.Author.Email, 60))
		}
	}
}

// notesRefProblem explains why ref cannot hold pipe's notes ("" when it can):
// it must be under refs/notes/ and follow git-check-ref-format's rules.
func notesRefProblem(ref string) string {
	const prefix = "refs/notes/"
	if !strings.HasPrefix(ref, prefix) || len(ref) == len(prefix) {
		return "it must be under refs/notes/"
	}
	for _, bad := range []string{"..", "//", "@{", "/.", ".lock/"} {
		if strings.Contains(ref, bad) {
			return fmt.Sprintf("it must not contain %q", bad)
		}
	}
	if strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock") {
		return "it must not end with /, . or .lock"
	}
	for _, r := range ref {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return fmt.Sprintf("it must not contain %q", r)
		}
	}
	return ""
}
