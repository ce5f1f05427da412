// Package platform is the seam between pipe's core and its platform
// kinds. The core (deploy, execute, drift, plan, report) declares what it
// needs of a platform (deploy.Platform, drift.Platform) and never imports
// one; each kind implements them in its own package
// (internal/platform/<kind>) and describes itself with a Kind; the
// registry (internal/platform/registry) lists the kinds, one line each.
// See docs/architecture.md.
package platform

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/render"
)

// Platform is one platform kind's part of every command: planning,
// syncing and rolling back (deploy.Platform), and drift checks
// (drift.Platform).
type Platform interface {
	deploy.Platform
	drift.Platform
	// WorkFile reports whether a path (relative to the repository root) is
	// one the platform's own tools write in the working tree (terraform's
	// .terraform/ and local state), not a change of an application: a sync
	// does not refuse such uncommitted files.
	WorkFile(path string) bool
}

// Kind describes one platform kind to the registry.
type Kind struct {
	// Kind is the application kind the platform deploys.
	Kind config.Kind
	// Flags adds the kind's command-line flags (how to reach its
	// platform) to fs and returns what New reads them from; nil when the
	// kind has none.
	Flags func(fs *pflag.FlagSet) any
	// New builds the kind's platform for one run of a command; flags is
	// what Flags returned (nil when the command has none of them).
	New func(env Env, flags any) (Platform, error)
	// Check, when set, reads the files an application's config names
	// (definitions, manifests) in the tree root as a deployment would, and
	// reports their problems at their file:line for pipe validate; nil
	// when there are none. No network, no credentials.
	Check func(root string, app *config.App) config.Diagnostics
}

// FileError turns an error whose message starts with "file:line[:column]: "
// (as the kinds word the problems of the files they read) into a
// diagnostic at that position; other errors are at file.
func FileError(file string, err error) config.Diagnostics {
	msg := err.Error()
	d := config.Diagnostic{File: file, Severity: config.SeverityError, Message: msg}
	if m := fileLineRe.FindStringSubmatch(msg); m != nil {
		d.File, d.Message = m[1], m[4]
		d.Line, _ = strconv.Atoi(m[2])
		if m[3] != "" {
			d.Column, _ = strconv.Atoi(m[3])
		}
	} else if rest, ok := strings.CutPrefix(msg, file+": "); ok {
		d.Message = rest
	}
	return config.Diagnostics{d}
}

var fileLineRe = regexp.MustCompile(`^([^\s:]+):(\d+)(?::(\d+))?: (.*)$`)

// Env is what the platforms of one run are built from: the repository,
// the process's environment, where narration goes. The CLI builds it.
type Env struct {
	// Root is the repository's working tree.
	Root string
	// Config is the repository's .pipe/config.yaml; nil when it has none.
	Config *config.PipeSpec
	// Provider names the platform provider to use (--platform-provider);
	// empty picks, per application, the one whose labels match.
	Provider string
	// Flag returns the value of a command-line flag as given (or from its
	// PIPE_* environment variable); "" when unset.
	Flag func(name string) string
	// Getenv and Environ are the process's environment: credentials named
	// by the config are read from it, and tools run with it.
	Getenv  func(string) string
	Environ []string
	// Output receives the platform tools' own output while deploying
	// (pipe's stderr); nil discards it.
	Output io.Writer
	// Say narrates one line (stderr); Warn warns.
	Say  func(format string, args ...any)
	Warn func(msg string)
	// HTTP is the client for downloads (charts, values files); nil
	// refuses them. On an untrusted run it reaches public hosts and the
	// configured ones only (internal/netguard).
	HTTP *http.Client
	// Git fetches other Git repositories (charts, kustomize bases, Lambda
	// code) with the run's credentials and network rules; nil means an
	// unauthenticated render.GoGitFetcher.
	Git render.GitFetcher
	// CacheDir is the download cache shared by runs (charts, indexes,
	// remote values files, Git repositories); "" caches nothing.
	CacheDir string
	// Offline forbids downloads: what rendering needs comes from CacheDir
	// or fails naming what is missing.
	Offline bool
	// UserAgent identifies pipe to the platforms' APIs.
	UserAgent string
	// TempDir is where temporary files go ("" is the system's).
	TempDir string
	// Untrusted is set when the run plans a change nobody has reviewed
	// yet (a pull or merge request). Config is then the trusted
	// revision's, and nothing the change can edit may choose what runs
	// or where credentials go: a kind refuses a binary, kubeconfig or
	// credentials file the config names inside the working tree
	// (InWorkTree), and runs no credential plugin the trusted config
	// does not allow.
	Untrusted bool
}

// GitFetcher is Git, or when it is nil an unauthenticated
// render.GoGitFetcher writing to TempDir.
func (e Env) GitFetcher() render.GitFetcher {
	if e.Git != nil {
		return e.Git
	}
	return &render.GoGitFetcher{TempDir: e.TempDir}
}

// Editable is InWorkTree of root when untrusted (a pull request's plan:
// a file the change can edit is refused as a credentials file or a
// binary), nil otherwise.
func Editable(root string, untrusted bool) func(path string) bool {
	if !untrusted {
		return nil
	}
	return func(path string) bool { return InWorkTree(root, path) }
}

// InWorkTree reports whether path (as the config writes it: absolute, or
// relative to the current directory as tools resolve it) names a file in
// the working tree root, after symlinks: a file a pull request can edit.
func InWorkTree(root, path string) bool {
	if path == "" {
		return false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return true
	}
	inside := func(p, dir string) bool {
		rel, err := filepath.Rel(dir, p)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	}
	if inside(abs, root) {
		return true
	}
	// A path outside through a symlink may still land inside, and one
	// inside through a symlink in the tree may point anywhere.
	rootReal, err := filepath.EvalSymlinks(root)
	if err != nil {
		rootReal = root
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return inside(real, rootReal) || inside(real, root)
	}
	return inside(abs, rootReal)
}
