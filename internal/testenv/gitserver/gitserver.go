// Package gitserver starts real Git servers on 127.0.0.1 for tests: smart
// HTTP (`git http-backend` behind net/http/cgi, with basic auth), `git
// daemon` (git://, push enabled) and, when Debian's openssh-server is
// installed, sshd. Each server serves the bare repositories under one root
// directory and is stopped when the test ends.
package gitserver

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Git runs git with args in dir and returns its stdout; a failure fails the
// test with git's stderr. The environment is isolated from the user's
// configuration.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := GitE(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// GitE is Git returning the error instead of failing.
func GitE(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Env is the environment git commands of tests run with: no system or user
// configuration, a fixed identity, no prompts.
func Env() []string {
	env := []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com"}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// NewBareRepo creates an empty bare repository root/name (name should end
// in .git) and returns its path.
func NewBareRepo(t testing.TB, root, name string) string {
	t.Helper()
	dir := filepath.Join(root, name)
	Git(t, root, "init", "--quiet", "--bare", "--initial-branch=main", dir)
	// Lets a client delete refs and lets concurrent pushes queue on a ref
	// lock instead of failing at once.
	Git(t, dir, "config", "receive.denyDeletes", "false")
	Git(t, dir, "config", "core.filesRefLockTimeout", "2000")
	return dir
}

// HTTPOptions configure the smart-HTTP server.
type HTTPOptions struct {
	// User and Token are the basic-auth credentials that may fetch and
	// push; ReadOnlyToken may only fetch (a push gets HTTP 403). With no
	// Token, anyone may fetch and push.
	User          string
	Token         string
	ReadOnlyToken string
}

// HTTPServer is `git http-backend` served over HTTP on 127.0.0.1.
type HTTPServer struct {
	Root string
	// URL is the base URL; repositories are at URL + "/" + name.
	URL  string
	opts HTTPOptions
}

// StartHTTP serves the bare repositories under root over smart HTTP until
// the test ends.
func StartHTTP(t testing.TB, root string, opts HTTPOptions) *HTTPServer {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Root: "/",
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null", "HOME=" + root},
		InheritEnv: []string{"PATH", "TMPDIR"},
		Stderr:     testWriter{t, "git http-backend"},
	}
	s := &HTTPServer{Root: root, opts: opts}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		push := strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack"
		user, pass, ok := r.BasicAuth()
		switch {
		case opts.Token == "":
			user = "anonymous"
		case ok && pass == opts.Token && (opts.User == "" || user == opts.User):
		case ok && opts.ReadOnlyToken != "" && pass == opts.ReadOnlyToken && !push:
		case ok && opts.ReadOnlyToken != "" && pass == opts.ReadOnlyToken && push:
			http.Error(w, "Permission to push denied: the token is read-only", http.StatusForbidden)
			return
		default:
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		// http-backend enables receive-pack for an authenticated user.
		h := *backend
		h.Env = append(append([]string(nil), backend.Env...), "REMOTE_USER="+user)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// RepoURL is the URL of repository name, without credentials.
func (s *HTTPServer) RepoURL(name string) string { return s.URL + "/" + name }

// AuthURL is the URL of repository name with user and token in it, for the
// git command line.
func (s *HTTPServer) AuthURL(name, token string) string {
	user := s.opts.User
	if user == "" {
		user = "x-access-token"
	}
	return strings.Replace(s.URL, "http://", "http://"+user+":"+token+"@", 1) + "/" + name
}

// testWriter logs a server's stderr to the test log.
type testWriter struct {
	t    testing.TB
	name string
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.name, strings.TrimSpace(string(p)))
	return len(p), nil
}

// Daemon is `git daemon` serving git:// on 127.0.0.1 with push enabled.
type Daemon struct {
	Root string
	// URL is the base URL; repositories are at URL + "/" + name.
	URL string
	Pid int
}

// StartDaemon serves the bare repositories under root with git daemon on a
// free port until the test ends (the daemon is stopped by its pid).
func StartDaemon(t testing.TB, root string) *Daemon {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	for try := 0; try < 5; try++ {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
			"--base-path="+root, "--listen=127.0.0.1", fmt.Sprintf("--port=%d", port), root)
		cmd.Env = Env()
		cmd.Stderr = testWriter{t, "git daemon"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start git daemon: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if waitListening(addr, exited, 10*time.Second) {
			d := &Daemon{Root: root, URL: "git://" + addr, Pid: cmd.Process.Pid}
			t.Cleanup(func() {
				// git daemon forks a child per connection: stop the group.
				_ = syscall.Kill(-d.Pid, syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(5 * time.Second):
					_ = syscall.Kill(-d.Pid, syscall.SIGKILL)
					<-exited
				}
			})
			return d
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	t.Fatal("git daemon did not start")
	return nil
}

// RepoURL is the git:// URL of repository name.
func (d *Daemon) RepoURL(name string) string { return d.URL + "/" + name }

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until addr accepts connections, the process exits,
// or the timeout passes.
func waitListening(addr string, exited <-chan error, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
