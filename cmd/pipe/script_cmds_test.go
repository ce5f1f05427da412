package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// Script commands that start the project's real Git server and the GitLab
// fake for the event watcher's scenarios (testdata/script/event_*.txtar).

// tbKey is the Env.Values key of the script's testing.TB (set in Setup).
type tbKey struct{}

// gitServerToken is the token `gitserver start` sets in PIPE_GIT_TOKEN: it
// must appear in no output, note, commit or request body.
const gitServerToken = "gitsrv-T0ken-9f8e7d6c5b4a"

// gitServerReadOnlyToken may fetch but not push (HTTP 403).
const gitServerReadOnlyToken = "gitsrv-ReadOnly-T0ken-1a2b3c"

// fakeGitLabToken is the GITLAB_TOKEN `fakegitlab start` sets.
const fakeGitLabToken = "glpat-fakeT0ken0123456789"

// scriptTB is the testing.TB the project's test servers take, for a
// running script: failures fail the script's line and cleanups run when
// the script ends; the rest is the script's subtest's.
type scriptTB struct {
	testing.TB
	ts *testscript.TestScript
}

func (s scriptTB) Helper()                           {}
func (s scriptTB) Fatalf(format string, args ...any) { s.ts.Fatalf(format, args...) }
func (s scriptTB) Fatal(args ...any)                 { s.ts.Fatalf("%s", fmt.Sprint(args...)) }
func (s scriptTB) Errorf(format string, args ...any) { s.ts.Fatalf(format, args...) }
func (s scriptTB) Skip(args ...any)                  { s.ts.Fatalf("cannot run: %s", fmt.Sprint(args...)) }
func (s scriptTB) Cleanup(f func())                  { s.ts.Defer(f) }

func tbOf(ts *testscript.TestScript) scriptTB {
	tb, ok := ts.Value(tbKey{}).(testing.TB)
	if !ok {
		ts.Fatalf("the script has no testing.TB (Setup sets it)")
	}
	return scriptTB{TB: tb, ts: ts}
}

// perScript holds one value for each running script; set forgets it when
// the script ends.
type perScript[T any] struct {
	mu sync.Mutex
	m  map[*testscript.TestScript]T
}

func (p *perScript[T]) set(ts *testscript.TestScript, v T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[*testscript.TestScript]T{}
	}
	p.m[ts] = v
	ts.Defer(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.m, ts)
	})
}

func (p *perScript[T]) get(ts *testscript.TestScript) T {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[ts]
}

// scriptRemotes maps a running script to the bare repository its
// `gitserver start` serves, for the fakes' BranchExists hooks.
var scriptRemotes perScript[string]

// branchExists says whether the script's served repository has branch b;
// with no server started, every branch exists (the fakes' default).
func branchExists(ts *testscript.TestScript, b string) bool {
	dir := scriptRemotes.get(ts)
	if dir == "" {
		return true
	}
	cmd := exec.Command("git", "--git-dir", dir, "rev-parse", "--verify", "--quiet", "refs/heads/"+b)
	cmd.Env = gitserver.Env()
	return cmd.Run() == nil
}

// gitServerCmd is the script command that serves a bare repository over
// smart HTTP (`git http-backend`, internal/testenv/gitserver) with basic
// auth:
//
//	gitserver start NAME   create NAME.git and serve it; set REMOTE_URL (no
//	                       credentials), REMOTE_DIR (the bare repository),
//	                       PIPE_GIT_TOKEN (the token pipe pushes with) and
//	                       the git command line's auth header (GIT_CONFIG_*),
//	                       so that plain `exec git clone $REMOTE_URL` works;
//	                       REMOTE_READONLY_TOKEN may fetch and not push
//	gitserver ssh NAME     create NAME.git and serve it over SSH (Debian's
//	                       sshd; check [sshd] first); set SSH_REMOTE_URL,
//	                       SSH_REMOTE_DIR (push to it as a path),
//	                       SSH_KEY_FILE (the client key the server accepts)
//	                       and PIPE_SSH_KNOWN_HOSTS (its host key)
func gitServerCmd() func(*testscript.TestScript, bool, []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg {
			ts.Fatalf("gitserver cannot be negated")
		}
		if len(args) == 0 {
			ts.Fatalf("usage: gitserver start NAME")
		}
		switch args[0] {
		case "start":
			if ts.Getenv("REMOTE_DIR") != "" {
				ts.Fatalf("gitserver start: one server per script")
			}
			tb, root, name, dir := scriptBareRepo(ts, args)
			srv := gitserver.StartHTTP(tb, root, gitserver.HTTPOptions{Token: gitServerToken, ReadOnlyToken: gitServerReadOnlyToken})
			scriptRemotes.set(ts, dir)
			ts.Setenv("REMOTE_URL", srv.RepoURL(name))
			ts.Setenv("REMOTE_DIR", dir)
			ts.Setenv("PIPE_GIT_TOKEN", gitServerToken)
			ts.Setenv("REMOTE_READONLY_TOKEN", gitServerReadOnlyToken)
			// The git command line authenticates by a header, so that no
			// clone's remote URL holds the token.
			basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + gitServerToken))
			ts.Setenv("GIT_CONFIG_COUNT", "1")
			ts.Setenv("GIT_CONFIG_KEY_0", "http.extraHeader")
			ts.Setenv("GIT_CONFIG_VALUE_0", "Authorization: Basic "+basic)
			ts.Setenv("GIT_TERMINAL_PROMPT", "0")
		case "ssh":
			tb, root, name, dir := scriptBareRepo(ts, args)
			srv := gitserver.StartSSH(tb, root)
			ts.Setenv("SSH_REMOTE_URL", srv.RepoURL(name))
			ts.Setenv("SSH_REMOTE_DIR", dir)
			ts.Setenv("SSH_KEY_FILE", srv.KeyFile)
			ts.Setenv("PIPE_SSH_KNOWN_HOSTS", srv.KnownHosts)
		default:
			ts.Fatalf("unknown gitserver command %q", args[0])
		}
	}
}

// exitsCmd is the script command that checks an exit code, which `! exec`
// cannot tell apart (pipe's exit codes are public API):
//
//	exits CODE PROG [ARGS...]   run PROG as exec does; fail unless it exits
//	                            with CODE; its stdout and stderr are kept for
//	                            the next lines
func exitsCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("exits cannot be negated: give the code expected")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %q is not an exit code", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// fakeGitLabCmd is the script command that runs a fake GitLab REST API
// (project acme/gitops, id 42) in the test process:
//
//	fakegitlab start      start it; set CI_API_V4_URL, CI_PROJECT_ID and
//	                      GITLAB_TOKEN; its merge requests' source branches
//	                      must exist in the `gitserver` repository
//	fakegitlab mrs        print the merge requests ("no merge requests")
//	fakegitlab requests   print "METHOD PATH" of every request
//	fakegitlab nosecret   fail if a request carries a token in its body or
//	                      URL, or the git token anywhere
func fakeGitLabCmd() func(*testscript.TestScript, bool, []string) {
	var running perScript[*fakes.GitLab]
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg {
			ts.Fatalf("fakegitlab cannot be negated")
		}
		if len(args) != 1 {
			ts.Fatalf("usage: fakegitlab start|mrs|requests|nosecret")
		}
		fake := running.get(ts)
		if args[0] != "start" && fake == nil {
			ts.Fatalf("fakegitlab start first")
		}
		switch args[0] {
		case "start":
			f, srv := fakes.NewGitLab("acme/gitops", 42, fakeGitLabToken)
			f.BranchExists = func(b string) bool { return branchExists(ts, b) }
			ts.Defer(srv.Close)
			running.set(ts, f)
			ts.Setenv("CI_API_V4_URL", srv.URL+"/api/v4")
			ts.Setenv("CI_PROJECT_ID", "42")
			ts.Setenv("GITLAB_TOKEN", fakeGitLabToken)
		case "mrs":
			mrs := fake.MergeRequests()
			if len(mrs) == 0 {
				fmt.Fprintln(ts.Stdout(), "no merge requests")
			}
			for _, m := range mrs {
				fmt.Fprintf(ts.Stdout(), "=== !%d %s %s -> %s labels=%s updates=%d\ntitle: %s\n%s\n", m.IID, m.State,
					m.SourceBranch, m.TargetBranch, strings.Join(m.Labels, ","), m.Updates, m.Title, m.Description)
			}
		case "requests":
			printRequests(ts, fake.Requests())
		case "nosecret":
			noSecret(ts, fake.Requests(), fakeGitLabToken)
		default:
			ts.Fatalf("unknown fakegitlab command %q", args[0])
		}
	}
}

// printRequests prints "METHOD PATH" of each of reqs, for `fakeX requests`.
// scriptBareRepo makes the bare repository NAME.git of `gitserver start|ssh
// NAME` in a new directory root, checking NAME is a plain name.
func scriptBareRepo(ts *testscript.TestScript, args []string) (tb testing.TB, root, name, dir string) {
	if len(args) != 2 || strings.ContainsAny(args[1], "/\\ ") {
		ts.Fatalf("usage: gitserver %s NAME (a plain name)", args[0])
	}
	tb = tbOf(ts)
	root = tb.TempDir()
	name = args[1] + ".git"
	return tb, root, name, gitserver.NewBareRepo(tb, root, name)
}

func printRequests(ts *testscript.TestScript, reqs []fakes.Request) {
	for _, r := range reqs {
		fmt.Fprintf(ts.Stdout(), "%s %s\n", r.Method, r.Path)
	}
}

// noSecret fails the script if one of reqs leaks (see leaks), for
// `fakeX nosecret`.
func noSecret(ts *testscript.TestScript, reqs []fakes.Request, forgeToken string) {
	for _, r := range reqs {
		if leaks(r, forgeToken) {
			ts.Fatalf("%s %s carries the token", r.Method, r.Path)
		}
	}
}

// leaks says whether a request to a fake carries forgeToken where no token
// belongs (its body or URL), or the git server's token anywhere.
func leaks(r fakes.Request, forgeToken string) bool {
	where := r.Body + r.Path + "?" + r.Query
	return strings.Contains(where, forgeToken) || strings.Contains(where+r.Auth, gitServerToken) ||
		strings.Contains(where+r.Auth, gitServerReadOnlyToken)
}

// pullLine renders a pull request of the GitHub fake for scripts.
func pullLine(p fakes.GitHubPull) string {
	return fmt.Sprintf("=== #%d %s %s %s -> %s labels=%s updates=%d\ntitle: %s\n%s\n", p.Number, p.State, p.Repo,
		p.Head, p.Base, strings.Join(p.Labels, ","), p.Updates, p.Title, p.Body)
}
