package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The harness of action_test.go and setup_test.go: it runs the steps of the
// composite actions (action.yml at the repository root, setup/action.yml) as
// the runner would: each step's `run` script with bash -e, its `env` with
// the ${{ }} expressions evaluated from a table, its outputs read from its
// GITHUB_OUTPUT file, against a local release server (no network).

type actionFile struct {
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID               string            `yaml:"id"`
			Uses             string            `yaml:"uses"`
			Shell            string            `yaml:"shell"`
			WorkingDirectory string            `yaml:"working-directory"`
			Env              map[string]string `yaml:"env"`
			Run              string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

// readAction decodes the action file at rel, relative to the repository root.
func readAction(t *testing.T, rel string) *actionFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	if a.Runs.Using != "composite" || len(a.Runs.Steps) == 0 {
		t.Fatalf("%s: want a composite action, got %q with %d steps", rel, a.Runs.Using, len(a.Runs.Steps))
	}
	for _, s := range a.Runs.Steps {
		if s.Uses != "" || s.Shell != "bash" {
			t.Fatalf("%s: step %q: want a bash run step (uses %q, shell %q)", rel, s.ID, s.Uses, s.Shell)
		}
	}
	return &a
}

var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// eval replaces the ${{ }} expressions of s from ctx: a name, or names
// joined by || (the first non-empty value). An unknown name fails the test.
func eval(t *testing.T, s string, ctx map[string]string) string {
	t.Helper()
	return exprRE.ReplaceAllStringFunc(s, func(m string) string {
		for key := range strings.SplitSeq(exprRE.FindStringSubmatch(m)[1], "||") {
			key = strings.TrimSpace(key)
			v, ok := ctx[key]
			if !ok {
				t.Fatalf("the action uses ${{ %s }}, which the test does not provide", key)
			}
			if v != "" {
				return v
			}
		}
		return ""
	})
}

// actionRun is one use of an action in a job.
type actionRun struct {
	t          *testing.T
	a          *actionFile
	ctx        map[string]string
	env        []string
	dir        string // the run's temp dir
	path, work string // GITHUB_PATH, the workspace
	runnerTemp string
}

// newActionRun prepares a use of the action file rel (action.yml or
// setup/action.yml) with the inputs given, on a runner whose tool cache is
// toolCache ("" for none), downloading from srvURL.
func newActionRun(t *testing.T, rel, srvURL, toolCache string, inputs map[string]string) *actionRun {
	t.Helper()
	a := readAction(t, rel)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	dir := t.TempDir()
	r := &actionRun{t: t, a: a, dir: dir, path: filepath.Join(dir, "path"), work: filepath.Join(dir, "work"),
		runnerTemp: filepath.Join(dir, "runner-temp")}
	for _, d := range []string{r.work, r.runnerTemp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.ctx = map[string]string{
		"github.action_path": filepath.Dir(filepath.Join(root, rel)),
		"github.action_ref":  "",
		"github.token":       "ghs_workflowToken123",
		"github.api_url":     srvURL + "/api",
		"runner.temp":        r.runnerTemp,
		"runner.arch":        "X64",
		"runner.os":          "Linux",
	}
	for name, in := range a.Inputs {
		v, ok := inputs[name]
		if !ok {
			v = eval(t, in.Default, r.ctx)
		}
		r.ctx["inputs."+name] = v
	}
	for k := range inputs {
		if _, ok := a.Inputs[k]; !ok {
			t.Fatalf("%s has no input %q", rel, k)
		}
	}
	// A runner's environment: no PIPE_*, GITHUB_* or RUNNER_* of the developer.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PIPE_") || strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "RUNNER_") || k == "TMPDIR" {
			continue
		}
		r.env = append(r.env, kv)
	}
	r.env = append(r.env, "GITHUB_PATH="+r.path, "RUNNER_TEMP="+r.runnerTemp, "TMPDIR="+dir,
		"PIPE_DOWNLOAD_BASE_URL="+srvURL+"/download", "PIPE_GITHUB_API_URL="+srvURL+"/api",
		"PIPE_INSTALL_UNAME_S=Linux", "PIPE_INSTALL_UNAME_M=x86_64",
		// No cosign, unless a test gives one: a cosign installed here changes nothing.
		"PIPE_INSTALL_COSIGN="+filepath.Join(dir, "absent", "cosign"))
	if toolCache != "" {
		r.env = append(r.env, "RUNNER_TOOL_CACHE="+toolCache)
	}
	return r
}

// step runs the step with the id, returning its exit code and output; its
// outputs become steps.<id>.outputs.<name>.
func (r *actionRun) step(id string) (int, string) {
	t := r.t
	t.Helper()
	for _, s := range r.a.Runs.Steps {
		if s.ID != id {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// The runner writes the script to a file and runs bash -e on it.
		script := filepath.Join(t.TempDir(), id+".sh")
		if err := os.WriteFile(script, []byte(eval(t, s.Run, r.ctx)), 0o644); err != nil {
			t.Fatal(err)
		}
		output := filepath.Join(t.TempDir(), "output")
		if err := os.WriteFile(output, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-e", "-o", "pipefail", script)
		cmd.Dir = r.work
		if s.WorkingDirectory != "" {
			if wd := eval(t, s.WorkingDirectory, r.ctx); filepath.IsAbs(wd) {
				cmd.Dir = wd
			} else {
				cmd.Dir = filepath.Join(r.work, wd)
			}
		}
		cmd.Env = append(slices.Clone(r.env), "GITHUB_OUTPUT="+output)
		for k, v := range s.Env {
			cmd.Env = append(cmd.Env, k+"="+eval(t, v, r.ctx))
		}
		out, err := cmd.CombinedOutput()
		code := 0
		if err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatalf("step %s: %v", id, err)
			}
			code = ee.ExitCode()
		}
		outputs, _ := os.ReadFile(output)
		for _, line := range strings.Split(strings.TrimSpace(string(outputs)), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				r.ctx["steps."+id+".outputs."+k] = v
			}
		}
		if left, _ := filepath.Glob(filepath.Join(r.runnerTemp, "pipe-setup.*")); len(left) > 0 {
			t.Errorf("step %s left %v in RUNNER_TEMP", id, left)
		}
		return code, string(out)
	}
	t.Fatalf("the action has no step %q", id)
	return 0, ""
}

// run runs the steps in order, as the runner does: up to the first failure.
func (r *actionRun) run() (int, string) {
	r.t.Helper()
	var all strings.Builder
	for _, s := range r.a.Runs.Steps {
		code, out := r.step(s.ID)
		all.WriteString(out)
		if code != 0 {
			return code, all.String()
		}
	}
	return 0, all.String()
}

// outputs evaluates the action's outputs from its steps' outputs.
func (r *actionRun) outputs() map[string]string {
	out := map[string]string{}
	for name, o := range r.a.Outputs {
		key := strings.TrimSpace(exprRE.FindStringSubmatch(o.Value)[1])
		out[name] = r.ctx[key] // unset: the step did not write it
	}
	return out
}

// pathEntries returns the directories the run added to GITHUB_PATH.
func (r *actionRun) pathEntries() []string {
	data, _ := os.ReadFile(r.path)
	return strings.Fields(string(data))
}

// fakeBinary is a release's pipe: a script that prints its version, each
// argument on its own line, the token and the directory it runs in, writes
// a step output and exits with $FAKE_EXIT.
func fakeBinary(tag string) []byte {
	return []byte("#!/bin/sh\necho \"fake pipe " + tag + "\"\nfor a in \"$@\"; do printf 'arg=[%s]\\n' \"$a\"; done\n" +
		"echo \"token: ${GITHUB_TOKEN:-none}\"\necho \"dir: $(basename \"$PWD\")\"\n" +
		"echo 'has_changes=true' >> \"$GITHUB_OUTPUT\"\nexit \"${FAKE_EXIT:-0}\"\n")
}

// serveRelease adds the linux/amd64 archive of tag and its checksums file.
func serveRelease(t *testing.T, gh *fakeGitHub, tag string) {
	p := Platform{"linux", "amd64"}
	body := archive(t, p, fakeBinary(tag))
	sum := sha256.Sum256(body)
	name := ArchiveName(tag, p.OS, p.Arch)
	gh.set("/download/"+tag+"/"+name, body)
	gh.set("/download/"+tag+"/"+ChecksumsName(tag), []byte(hex.EncodeToString(sum[:])+"  "+name+"\n"))
}

// releaseServer is the fake GitHub of fakerelease_test.go with releases
// v1.2.3 (testTag) and v1.10.0, and the paginated API answers the setup
// script reads: the releases and the tags.
type releaseServer struct {
	gh  *fakeGitHub
	URL string

	mu           sync.Mutex
	pages        map[string][][]byte // API path -> pages (page=1 first)
	refuseTokens bool                // answer 401 to requests with a token
	status       int                 // answer every API request with this status
	api          []*http.Request     // the API requests, in order
}

const (
	newerTag     = "v1.10.0"
	testTagSHA   = "0123456789abcdef0123456789abcdef01234567"
	untaggedSHA  = "89abcdef0123456789abcdef0123456789abcdef"
	releasesPath = "/api/repos/gitops-pipe/pipe/releases"
	tagsPath     = "/api/repos/gitops-pipe/pipe/tags"
	latestPath   = "/api/repos/gitops-pipe/pipe/releases/latest"
)

func newReleaseServer(t *testing.T) *releaseServer {
	t.Helper()
	gh, _ := newFakeGitHub(t)
	serveRelease(t, gh, testTag)
	serveRelease(t, gh, newerTag)
	s := &releaseServer{gh: gh, pages: map[string][][]byte{}}
	// Page 1: 100 releases of v2 (a full page), then v1 on page 2, newest
	// first as GitHub lists them, with a prerelease and a release whose
	// text names other tags.
	var page1, page2 []map[string]any
	for i := 99; i >= 0; i-- {
		page1 = append(page1, release(fmt.Sprintf("v2.0.%d", i), ""))
	}
	page2 = append(page2, release("v1.11.0-rc.1", ""), release(newerTag, `fixes {"tag_name": "v1.99.0"}, "tag_name":"v1.98.0"`),
		release("v1.9.1", ""), release("v1.2.10-rc.1", ""), release(testTag, ""), release("v1.2.0", ""))
	s.pages[releasesPath] = [][]byte{indentJSON(t, page1), indentJSON(t, page2)}
	tags := []map[string]any{tagJSON("v2.0.0", untaggedSHA[:39]+"0"), tagJSON("v1", testTagSHA), tagJSON(newerTag, untaggedSHA[:39]+"1"), tagJSON(testTag, testTagSHA)}
	s.pages[tagsPath] = [][]byte{indentJSON(t, tags)}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func release(tag, body string) map[string]any {
	return map[string]any{"url": "https://api.github.com/x", "tag_name": tag, "name": "pipe " + tag, "draft": false,
		"prerelease": strings.Contains(tag, "-"), "author": map[string]any{"login": "octocat", "id": 1},
		"assets": []map[string]any{{"name": "pipe_checksums.txt", "uploader": map[string]any{"login": "bot"}}}, "body": body}
}

func tagJSON(name, sha string) map[string]any {
	return map[string]any{"name": name, "zipball_url": "https://x/zip", "commit": map[string]any{"sha": sha, "url": "https://x/c"}, "node_id": "n"}
}

func indentJSON(t *testing.T, v any) []byte {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (s *releaseServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		s.gh.ServeHTTP(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.api = append(s.api, r.Clone(context.Background()))
	switch {
	case s.status != 0:
		w.WriteHeader(s.status)
	case s.refuseTokens && r.Header.Get("Authorization") != "":
		w.WriteHeader(http.StatusUnauthorized)
	case s.pages[r.URL.Path] != nil:
		page, err := strconv.Atoi(r.URL.Query().Get("page"))
		if err != nil || page < 1 {
			page = 1
		}
		if pages := s.pages[r.URL.Path]; page <= len(pages) {
			_, _ = w.Write(pages[page-1])
		} else {
			_, _ = w.Write([]byte("[]"))
		}
	default:
		s.gh.ServeHTTP(w, r)
	}
}

// apiRequests returns the API requests served so far.
func (s *releaseServer) apiRequests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.api)
}

// downloads returns the paths of the release files served so far.
func (s *releaseServer) downloads() []string {
	var out []string
	for _, p := range s.gh.paths() {
		if strings.HasPrefix(p, "/download/") {
			out = append(out, p)
		}
	}
	return out
}

func requireBash(t *testing.T) {
	t.Helper()
	requireSh(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
}
