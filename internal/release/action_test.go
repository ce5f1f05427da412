package release

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Tests of the pipe action (action.yml at the repository root): its install
// step (setup/install-cached.sh, shared with gitops-pipe/pipe/setup) and its
// run step, through the harness of actionrun_test.go.

const mainAction = "action.yml"

// argv returns the arguments the fake pipe printed, one per arg=[...] line.
func argv(out string) []string {
	var args []string
	rest := out
	for {
		i := strings.Index(rest, "arg=[")
		if i < 0 {
			return args
		}
		rest = rest[i+len("arg=["):]
		j := strings.Index(rest, "]\n")
		if j < 0 {
			return args
		}
		args = append(args, rest[:j])
		rest = rest[j+2:]
	}
}

func TestActionInstallsAndRunsArgs(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	cache := t.TempDir()
	marker := filepath.Join(t.TempDir(), "pwned")
	args := "\n  plan\n--comment\n\n--title\nweb (prod) \"eu\" 'x'\n   \n--labels=a b\n$(touch " + marker + ")\n`touch " + marker + "`\n${GITHUB_TOKEN}\n;id\r\n"
	r := newActionRun(t, mainAction, srv.URL, cache, map[string]string{"args": args})
	r.ctx["github.action_ref"] = "v1.2"

	code, out := r.step("install")
	if code != 0 || !strings.Contains(out, "verified sha256 of "+ArchiveName(testTag, "linux", "amd64")) {
		t.Fatalf("install step exited %d:\n%s", code, out)
	}
	dir := filepath.Join(cache, "pipe", "1.2.3", "x64")
	if got := r.pathEntries(); !slices.Equal(got, []string{dir}) {
		t.Errorf("GITHUB_PATH = %q, want %q", got, dir)
	}
	if reqs := srv.apiRequests(); len(reqs) == 0 || reqs[0].Header.Get("Authorization") != "Bearer ghs_workflowToken123" {
		t.Errorf("the version was not resolved with the workflow token: %v", reqs)
	}

	code, out = r.step("run")
	if code != 0 {
		t.Fatalf("run step exited %d:\n%s", code, out)
	}
	// One argument per non-blank line, trimmed, never evaluated.
	want := []string{"plan", "--comment", "--title", `web (prod) "eu" 'x'`, "--labels=a b",
		"$(touch " + marker + ")", "`touch " + marker + "`", "${GITHUB_TOKEN}", ";id"}
	if got := argv(out); !slices.Equal(got, want) {
		t.Errorf("pipe got %q, want %q:\n%s", got, want, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("an argument was run by a shell")
	}
	if !strings.Contains(out, "fake pipe "+testTag) || !strings.Contains(out, "token: ghs_workflowToken123") || !strings.Contains(out, "dir: work") {
		t.Errorf("version, token or directory not passed:\n%s", out)
	}
	wantOut := map[string]string{"exit_code": "0", "has_changes": "true"}
	for name, v := range r.outputs() {
		if v != wantOut[name] {
			t.Errorf("output %s = %q, want %q", name, v, wantOut[name])
		}
	}
	// Every output of the action comes from the run step's outputs.
	for name, o := range r.a.Outputs {
		if o.Value != "${{ steps.run.outputs."+name+" }}" {
			t.Errorf("output %s = %q", name, o.Value)
		}
	}
}

func TestActionDeprecatedCommand(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	r := newActionRun(t, mainAction, srv.URL, t.TempDir(), map[string]string{
		"command": " plan --comment\t --title $(touch /tmp/pwned)\n--labels ", "version": testTag})
	code, out := r.run()
	if code != 0 {
		t.Fatalf("exited %d:\n%s", code, out)
	}
	// Split on white space, never evaluated.
	if got, want := argv(out), []string{"plan", "--comment", "--title", "$(touch", "/tmp/pwned)", "--labels"}; !slices.Equal(got, want) {
		t.Errorf("pipe got %q, want %q", got, want)
	}
	if !strings.Contains(out, "::warning title=pipe action::the command input is deprecated") || !strings.Contains(out, "Use args") {
		t.Errorf("no deprecation warning:\n%s", out)
	}
}

func TestActionArgsOrCommand(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"neither", map[string]string{}, "::error title=pipe action::args is empty"},
		{"only blank lines", map[string]string{"args": "\n  \n\t\n"}, "args is empty"},
		{"both", map[string]string{"args": "plan", "command": "plan"}, "set args or command, not both"},
		{"a command line in args", map[string]string{"args": "plan --comment\n--labels"}, "the first line, 'plan --comment', holds white space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.inputs["version"] = testTag
			r := newActionRun(t, mainAction, srv.URL, t.TempDir(), tc.inputs)
			code, out := r.run()
			if code != 2 || !strings.Contains(out, tc.want) || strings.Contains(out, "fake pipe") {
				t.Errorf("exited %d, want 2 with %q and pipe not run:\n%s", code, tc.want, out)
			}
		})
	}
}

// Exit code 3 (changes) passes unless fail-on-changes; other codes fail.
func TestActionExitCodes(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	cache := t.TempDir()
	for _, tc := range []struct {
		exit, failOnChanges string
		want                int
	}{{"3", "false", 0}, {"3", "true", 3}, {"1", "false", 1}, {"0", "true", 0}} {
		r := newActionRun(t, mainAction, srv.URL, cache, map[string]string{"args": "plan\n--detailed-exitcode", "version": testTag, "fail-on-changes": tc.failOnChanges})
		r.env = append(r.env, "FAKE_EXIT="+tc.exit)
		code, out := r.run()
		if code != tc.want || r.outputs()["exit_code"] != tc.exit {
			t.Errorf("exit %s, fail-on-changes %s: step exited %d (want %d), outputs %v\n%s", tc.exit, tc.failOnChanges, code, tc.want, r.outputs(), out)
		}
	}
}

// gitops-pipe/pipe/setup then the pipe action in one job: one download; an
// empty github-token posts nothing but still resolves the version.
func TestActionAfterSetupUsesTheCache(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	cache := t.TempDir()
	setup := newActionRun(t, setupAction, srv.URL, cache, nil)
	setup.ctx["github.action_ref"] = "v1"
	if code, out := setup.run(); code != 0 || setup.outputs()["version"] != newerTag {
		t.Fatalf("setup exited %d, outputs %v:\n%s", code, setup.outputs(), out)
	}
	r := newActionRun(t, mainAction, srv.URL, cache, map[string]string{"args": "version", "github-token": ""})
	r.ctx["github.action_ref"] = "v1"
	code, out := r.run()
	if code != 0 || !strings.Contains(out, "fake pipe "+newerTag) || !strings.Contains(out, "found in the tool cache") || !strings.Contains(out, "token: none") {
		t.Fatalf("exited %d:\n%s", code, out)
	}
	if got := srv.downloads(); len(got) != 2 {
		t.Errorf("downloads %q: want one archive and its checksums", got)
	}
	for _, req := range srv.apiRequests() {
		if req.Header.Get("Authorization") != "Bearer ghs_workflowToken123" {
			t.Errorf("%s without the workflow token", req.URL)
		}
	}
}

func TestActionRefusesTamperedRelease(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	p := Platform{"linux", "amd64"}
	srv.gh.set("/download/"+testTag+"/"+ArchiveName(testTag, p.OS, p.Arch), archive(t, p, []byte("#!/bin/sh\necho pwned\n")))
	r := newActionRun(t, mainAction, srv.URL, t.TempDir(), map[string]string{"args": "version", "version": testTag})
	code, out := r.run()
	if code == 0 || !strings.Contains(out, "checksum mismatch") || strings.Contains(out, "pwned") {
		t.Fatalf("exited %d:\n%s", code, out)
	}
}
