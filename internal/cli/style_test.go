package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestColorPolicy(t *testing.T) {
	type stream struct{ tty, file bool }
	term, pipe, file := stream{tty: true}, stream{}, stream{file: true}
	for _, tc := range []struct {
		name   string
		env    string // space-separated K=V
		flag   bool   // --no-color
		ciLog  bool
		stream stream
		want   bool
	}{
		{name: "terminal", stream: term, want: true},
		{name: "pipe", stream: pipe, want: false},
		{name: "file", stream: file, want: false},
		{name: "--no-color", flag: true, stream: term, want: false},
		{name: "NO_COLOR", env: "NO_COLOR=1", stream: term, want: false},
		{name: "TERM=dumb", env: "TERM=dumb", stream: term, want: false},
		{name: "CLICOLOR=0", env: "CLICOLOR=0", stream: term, want: false},
		{name: "CLICOLOR=1 is the default", env: "CLICOLOR=1", stream: pipe, want: false},

		{name: "FORCE_COLOR on a pipe", env: "FORCE_COLOR=1", stream: pipe, want: true},
		{name: "FORCE_COLOR level 3 in a file", env: "FORCE_COLOR=3", stream: file, want: true},
		{name: "FORCE_COLOR=true", env: "FORCE_COLOR=true", stream: pipe, want: true},
		{name: "FORCE_COLOR=0 turns it off", env: "FORCE_COLOR=0", stream: term, want: false},
		{name: "FORCE_COLOR=false turns it off in CI", env: "FORCE_COLOR=false", ciLog: true, stream: pipe, want: false},
		{name: "FORCE_COLOR wins over TERM=dumb and CLICOLOR=0", env: "FORCE_COLOR=1 TERM=dumb CLICOLOR=0", stream: pipe, want: true},
		{name: "CLICOLOR_FORCE on a pipe", env: "CLICOLOR_FORCE=1", stream: pipe, want: true},
		{name: "CLICOLOR_FORCE=0 forces nothing", env: "CLICOLOR_FORCE=0", stream: pipe, want: false},
		{name: "CLICOLOR_FORCE wins over CLICOLOR=0", env: "CLICOLOR_FORCE=1 CLICOLOR=0", stream: pipe, want: true},
		{name: "NO_COLOR wins over FORCE_COLOR", env: "NO_COLOR=1 FORCE_COLOR=1", stream: term, want: false},
		{name: "NO_COLOR wins over CLICOLOR_FORCE", env: "NO_COLOR=1 CLICOLOR_FORCE=1", stream: pipe, want: false},
		{name: "--no-color wins over FORCE_COLOR", env: "FORCE_COLOR=1", flag: true, stream: pipe, want: false},

		{name: "CI log", ciLog: true, stream: pipe, want: true},
		{name: "CI, redirected to a file", ciLog: true, stream: file, want: false},
		{name: "CI, forced into a file", env: "FORCE_COLOR=1", ciLog: true, stream: file, want: true},
		{name: "CI with NO_COLOR", env: "NO_COLOR=1", ciLog: true, stream: pipe, want: false},
		{name: "CI with --no-color", flag: true, ciLog: true, stream: pipe, want: false},
		{name: "CI with CLICOLOR=0", env: "CLICOLOR=0", ciLog: true, stream: pipe, want: false},
		{name: "CI with TERM=dumb", env: "TERM=dumb", ciLog: true, stream: pipe, want: false},
	} {
		vars := map[string]string{}
		for _, kv := range strings.Fields(tc.env) {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		p := colorPolicy{noColorFlag: tc.flag, getenv: func(k string) string { return vars[k] }, ciLog: tc.ciLog}
		if got := p.enabled(tc.stream.tty, tc.stream.file); got != tc.want {
			t.Errorf("%s: colour %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestColorInCI runs pipe as in a GitHub Actions and a GitLab CI job: the
// error goes to the job log (a pipe) in colour, unless NO_COLOR.
func TestColorInCI(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want bool
	}{
		{"GitHub Actions", map[string]string{"GITHUB_ACTIONS": "true", "NO_COLOR": ""}, true},
		{"GitLab CI", map[string]string{"GITLAB_CI": "true", "NO_COLOR": ""}, true},
		{"GitLab CI with NO_COLOR", map[string]string{"GITLAB_CI": "true"}, false},
		{"a generic CI", map[string]string{"CI": "true", "NO_COLOR": ""}, false},
		{"a generic CI with CLICOLOR_FORCE", map[string]string{"CI": "true", "NO_COLOR": "", "CLICOLOR_FORCE": "1"}, true},
	} {
		_, _, stderr := runPipe(t, tc.vars, "version", "-o", "yaml")
		if got := strings.Contains(stderr, "\x1b[31;1merror:\x1b[0m"); got != tc.want {
			t.Errorf("%s: coloured %v, want %v: %q", tc.name, got, tc.want, stderr)
		}
	}
}

func TestIsRegularFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !isRegularFile(f) {
		t.Error("a file is not a regular file")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isRegularFile(w) || isRegularFile(&strings.Builder{}) {
		t.Error("a pipe or a buffer is a regular file")
	}
}

func TestStyleText(t *testing.T) {
	for _, tc := range []struct{ in, plain, color string }{
		{"see `pipe plan --help`", "see pipe plan --help", "see \x1b[1mpipe plan --help\x1b[0m"},
		{"no backticks", "no backticks", "no backticks"},
		{"`a` and `b`", "a and b", "\x1b[1ma\x1b[0m and \x1b[1mb\x1b[0m"},
		// Longer runs hold backticks; one space each side is trimmed.
		{"run `` echo `x` `` now", "run echo `x` now", "run \x1b[1mecho `x`\x1b[0m now"},
		{"`` ` ``", "`", "\x1b[1m`\x1b[0m"},
		// An unclosed run stays.
		{"a ` lone", "a ` lone", "a ` lone"},
		{"a `` b ` c", "a `` b ` c", "a `` b ` c"},
		// A quoted value is left as it is.
		{"unknown field \"a`b`c\" in `spec`", "unknown field \"a`b`c\" in spec", "unknown field \"a`b`c\" in \x1b[1mspec\x1b[0m"},
		{`value "x\"` + "`y`" + `"`, `value "x\"` + "`y`" + `"`, `value "x\"` + "`y`" + `"`},
		// A quote mark not closed on its line is a character.
		{"it's 5\" `long`", "it's 5\" long", "it's 5\" \x1b[1mlong\x1b[0m"},
		{"a \"b\nc `d`", "a \"b\nc d", "a \"b\nc \x1b[1md\x1b[0m"},
		{"`  `", "  ", "\x1b[1m  \x1b[0m"},
		{"", "", ""},
	} {
		if got := (style{}).Text(tc.in); got != tc.plain {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.plain)
		}
		if got := (style{color: true}).Text(tc.in); got != tc.color {
			t.Errorf("coloured Text(%q) = %q, want %q", tc.in, got, tc.color)
		}
	}
}
