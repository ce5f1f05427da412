package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// These tests run the steps of action.yml (the GitHub Action at the
// repository root) as the runner would: each step's `run` script with bash,
// its `env` with the ${{ }} expressions evaluated from a table, against the
// local release server of fakerelease_test.go (no network).

type actionFile struct {
	Inputs  map[string]struct{ Default string } `yaml:"inputs"`
	Outputs map[string]struct{ Value string }   `yaml:"outputs"`
	Runs    struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID               string            `yaml:"id"`
			Shell            string            `yaml:"shell"`
			WorkingDirectory string            `yaml:"working-directory"`
			Env              map[string]string `yaml:"env"`
			Run              string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) *actionFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if a.Runs.Using != "composite" || len(a.Runs.Steps) != 2 {
		t.Fatalf("action.yml: want a composite action with the install and run steps, got %q with %d steps", a.Runs.Using, len(a.Runs.Steps))
	}
	return &a
}

var exprRE = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// eval replaces the ${{ }} expressions of s from ctx; an unknown one fails.
func eval(t *testing.T, s string, ctx map[string]string) string {
	t.Helper()
	return exprRE.ReplaceAllStringFunc(s, func(m string) string {
		key := exprRE.FindStringSubmatch(m)[1]
		v, ok := ctx[key]
		if !ok {
			t.Fatalf("action.yml uses ${{ %s }}, which the test does not provide", key)
		}
		return v
	})
}

// actionRun is one run of the action's steps.
type actionRun struct {
	t                  *testing.T
	a                  *actionFile
	ctx                map[string]string
	env                []string
	output, path, work string
}

func newActionRun(t *testing.T, srvURL string, inputs map[string]string) *actionRun {
	a := readAction(t)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	dir := t.TempDir()
	r := &actionRun{t: t, a: a, output: filepath.Join(dir, "output"), path: filepath.Join(dir, "path"), work: filepath.Join(dir, "work")}
	if err := os.MkdirAll(r.work, 0o755); err != nil {
		t.Fatal(err)
	}
	r.ctx = map[string]string{"github.action_path": root, "runner.temp": filepath.Join(dir, "runner-temp"), "github.token": "ghs_workflowToken123"}
	for name, in := range a.Inputs {
		v, ok := inputs[name]
		if !ok {
			v = eval(t, in.Default, r.ctx)
		}
		r.ctx["inputs."+name] = v
	}
	for k := range inputs {
		if _, ok := a.Inputs[k]; !ok {
			t.Fatalf("action.yml has no input %q", k)
		}
	}
	// A runner's environment: no PIPE_* or tokens of the developer.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PIPE_") || strings.HasPrefix(k, "GITHUB_") || k == "TMPDIR" {
			continue
		}
		r.env = append(r.env, kv)
	}
	r.env = append(r.env, "GITHUB_OUTPUT="+r.output, "GITHUB_PATH="+r.path, "TMPDIR="+dir,
		"PIPE_DOWNLOAD_BASE_URL="+srvURL+"/download", "PIPE_GITHUB_API_URL="+srvURL+"/api",
		"PIPE_INSTALL_UNAME_S=Linux", "PIPE_INSTALL_UNAME_M=x86_64")
	return r
}

// step runs the step with the id, returning its exit code and output.
func (r *actionRun) step(id string) (int, string) {
	t := r.t
	t.Helper()
	for _, s := range r.a.Runs.Steps {
		if s.ID != id {
			continue
		}
		if s.Shell != "bash" {
			t.Fatalf("step %s: shell %q, want bash", id, s.Shell)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// The runner writes the script to a file and runs bash -e on it.
		script := filepath.Join(t.TempDir(), id+".sh")
		if err := os.WriteFile(script, []byte(eval(t, s.Run, r.ctx)), 0o644); err != nil {
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
		cmd.Env = append([]string(nil), r.env...)
		for k, v := range s.Env {
			cmd.Env = append(cmd.Env, k+"="+eval(t, v, r.ctx))
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode(), string(out)
			}
			t.Fatalf("step %s: %v", id, err)
		}
		return 0, string(out)
	}
	t.Fatalf("action.yml has no step %q", id)
	return 0, ""
}

// actionRelease serves a release whose linux/amd64 pipe is a script that
// prints its arguments, writes a step output and exits with $FAKE_EXIT.
func actionRelease(t *testing.T) (*fakeGitHub, string) {
	gh, srv := newFakeGitHub(t)
	p := Platform{"linux", "amd64"}
	bin := []byte("#!/bin/sh\necho \"fake pipe: $*\"\necho \"token: ${GITHUB_TOKEN:-none}\"\necho \"dir: $(basename \"$PWD\")\"\n" +
		"echo 'has_changes=true' >> \"$GITHUB_OUTPUT\"\nexit \"${FAKE_EXIT:-0}\"\n")
	body := archive(t, p, bin)
	sum := sha256.Sum256(body)
	name := ArchiveName(testTag, p.OS, p.Arch)
	gh.set("/download/"+testTag+"/"+name, body)
	gh.set("/download/"+testTag+"/"+ChecksumsName(testTag), []byte(hex.EncodeToString(sum[:])+"  "+name+"\n"))
	return gh, srv.URL
}

func TestActionInstallsAndRuns(t *testing.T) {
	requireSh(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	gh, url := actionRelease(t)
	r := newActionRun(t, url, map[string]string{"command": "plan --comment  --title $(touch /tmp/pwned) --labels", "version": testTag})
	code, out := r.step("install")
	if code != 0 || !strings.Contains(out, "verified sha256 of "+ArchiveName(testTag, "linux", "amd64")) {
		t.Fatalf("install step exited %d:\n%s", code, out)
	}
	paths, _ := os.ReadFile(r.path)
	if strings.TrimSpace(string(paths)) != filepath.Join(r.ctx["runner.temp"], "pipe-bin") {
		t.Errorf("GITHUB_PATH = %q", paths)
	}
	if got := gh.paths(); len(got) != 2 {
		t.Errorf("requests %q", got)
	}
	code, out = r.step("run")
	if code != 0 {
		t.Fatalf("run step exited %d:\n%s", code, out)
	}
	// Arguments are split on white space, never evaluated.
	if !strings.Contains(out, "fake pipe: plan --comment --title $(touch /tmp/pwned) --labels") {
		t.Errorf("pipe got other arguments:\n%s", out)
	}
	if !strings.Contains(out, "token: ghs_workflowToken123") || !strings.Contains(out, "dir: work") {
		t.Errorf("token or directory not passed:\n%s", out)
	}
	outputs, _ := os.ReadFile(r.output)
	if string(outputs) != "has_changes=true\nexit_code=0\n" {
		t.Errorf("GITHUB_OUTPUT:\n%s", outputs)
	}
	// Every output of the action comes from the run step's outputs.
	for name, o := range r.a.Outputs {
		if o.Value != "${{ steps.run.outputs."+name+" }}" {
			t.Errorf("output %s = %q", name, o.Value)
		}
	}

	// Exit code 3 (changes) passes unless fail-on-changes; other codes fail.
	for _, tc := range []struct {
		exit, failOnChanges string
		want                int
	}{{"3", "false", 0}, {"3", "true", 3}, {"1", "false", 1}} {
		r2 := newActionRun(t, url, map[string]string{"command": "plan --detailed-exitcode", "version": testTag, "fail-on-changes": tc.failOnChanges})
		r2.env = append(r2.env, "FAKE_EXIT="+tc.exit)
		if code, out := r2.step("install"); code != 0 {
			t.Fatalf("install: %s", out)
		}
		code, out := r2.step("run")
		outputs, _ := os.ReadFile(r2.output)
		if code != tc.want || !strings.Contains(string(outputs), "exit_code="+tc.exit+"\n") {
			t.Errorf("exit %s, fail-on-changes %s: step exited %d (want %d), outputs %q\n%s", tc.exit, tc.failOnChanges, code, tc.want, outputs, out)
		}
	}
}

func TestActionRefusesTamperedRelease(t *testing.T) {
	requireSh(t)
	gh, url := actionRelease(t)
	p := Platform{"linux", "amd64"}
	gh.set("/download/"+testTag+"/"+ArchiveName(testTag, p.OS, p.Arch), archive(t, p, []byte("#!/bin/sh\necho pwned\n")))
	r := newActionRun(t, url, map[string]string{"command": "version", "version": testTag})
	code, out := r.step("install")
	if code == 0 || !strings.Contains(out, "checksum mismatch") {
		t.Fatalf("install step exited %d:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(r.ctx["runner.temp"], "pipe-bin", "pipe")); err == nil {
		t.Error("a tampered pipe was installed")
	}
}
