package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gitops-pipe/pipe/internal/redact"
)

var update = flag.Bool("update", false, "rewrite the golden help files in testdata/help")

// helpEnv is a run of pipe with no colour, an 80-column terminal and the
// given extra variables.
func helpEnv(args []string, vars map[string]string) (Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	all := map[string]string{"NO_COLOR": "1", "COLUMNS": "80"}
	for k, v := range vars {
		all[k] = v
	}
	return Env{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return all[k] }, Now: time.Now}, &out, &errOut
}

// runPipe runs pipe with args as helpEnv sets it up.
func runPipe(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env, out, errOut := helpEnv(args, vars)
	code = runWith(context.Background(), env, redact.NewSet())
	return code, out.String(), errOut.String()
}

// commandTree is pipe's command tree as root.go builds it, with cobra's
// help command, and its commands a user can call (hidden ones left out).
func commandTree(t *testing.T) (*cobra.Command, []*cobra.Command) {
	t.Helper()
	env, _, _ := helpEnv(nil, nil)
	a := &app{env: env, out: env.Stdout, err: env.Stderr, secrets: redact.NewSet()}
	root := a.rootCommand()
	root.InitDefaultHelpCmd()
	var all []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		all = append(all, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return root, all
}

// valueName is what a flag's value name may be: a lower-case word (pflag's
// type names such as string, duration or stringToString, or an intended
// name such as file, dir, url or app); empty for boolean flags.
var valueName = regexp.MustCompile(`^([a-z][a-zA-Z]*)?$`)

// TestFlagValueNames fails on a flag whose help names its value with a
// phrase: pflag takes the first `backticked` text of the help as the value
// name (--plan pipe plan --out), and shows later backticks as they are.
func TestFlagValueNames(t *testing.T) {
	_, cmds := commandTree(t)
	for _, c := range cmds {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name, usage := pflag.UnquoteUsage(f)
			if !valueName.MatchString(name) {
				t.Errorf("%s --%s: value name %q is not a lower-case word: rewrite the help without backticks, or backtick one word meant as the value name (\"this `file`\")\n\thelp: %s",
					c.CommandPath(), f.Name, name, f.Usage)
			}
			if strings.Contains(usage, "`") {
				t.Errorf("%s --%s: the help shows backticks after the value name: %s", c.CommandPath(), f.Name, f.Usage)
			}
		})
	}
}

// TestShorthandV: -v is --version on the top command and means nothing
// else anywhere.
func TestShorthandV(t *testing.T) {
	root, cmds := commandTree(t)
	if f := root.Flags().ShorthandLookup("v"); f == nil || f.Name != "version" {
		t.Fatalf("pipe -v is %v, want --version", f)
	}
	for _, c := range cmds[1:] {
		if f := c.LocalFlags().ShorthandLookup("v"); f != nil {
			t.Errorf("%s: -v is --%s here, and --version on pipe: drop the shorthand", c.CommandPath(), f.Name)
		}
	}
	code, stdout, _ := runPipe(t, nil, "-v")
	if code != ExitOK || !strings.HasPrefix(stdout, "pipe ") {
		t.Errorf("pipe -v: exit %d, stdout %q; want the version", code, stdout)
	}
}

// TestConnectionFlags: kubectl's connection flags are left out of the
// help of the commands taking them, still work there, and are listed by
// pipe options.
func TestConnectionFlags(t *testing.T) {
	var names []string
	connectionFlags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	if len(names) < 15 || !slices.Contains(names, "kubeconfig") || !slices.Contains(names, "insecure-skip-tls-verify") {
		t.Fatalf("connection flags = %v; want kubectl's", names)
	}
	root, _ := commandTree(t)
	takers := hideConnectionFlags(root)
	for _, want := range []string{"cancel", "drift", "plan", "sync"} {
		if !slices.Contains(takers, want) {
			t.Errorf("commands taking the connection flags = %v; want %s among them", takers, want)
		}
	}
	for _, path := range takers {
		_, help, _ := runPipe(t, nil, append(strings.Fields(path), "--help")...)
		for _, name := range names {
			if strings.Contains(help, "--"+name+" ") {
				t.Errorf("pipe %s --help shows --%s", path, name)
			}
		}
		if !strings.Contains(help, `Use "pipe options" for kubectl's connection flags`) {
			t.Errorf("pipe %s --help does not point to pipe options:\n%s", path, help)
		}
	}
	// Hidden, they still parse: an unknown flag would be exit 2.
	if code, _, stderr := runPipe(t, nil, "plan", "--kubeconfig", "/nonexistent", "--context", "c", "-n", "ns", "--help"); code != ExitOK {
		t.Errorf("pipe plan with connection flags: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runPipe(t, nil, "options")
	if code != ExitOK {
		t.Fatalf("pipe options: exit %d\n%s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "The following options can be passed to cancel, drift, plan and sync:\n\n") {
		t.Errorf("pipe options does not say which commands take them:\n%s", stdout)
	}
	for _, name := range names {
		if !strings.Contains(stdout, "--"+name+" ") {
			t.Errorf("pipe options does not list --%s", name)
		}
	}
	for _, line := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		if len(line) > 80 {
			t.Errorf("pipe options: line wider than the 80-column terminal: %q", line)
		}
	}
}

// TestErrorHints: hints and errors on the terminal have no Markdown
// backticks, and a usage error's hint names the command that was run.
func TestErrorHints(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"version", "-o", "yaml"}, "hint: see pipe version --help\n"},
		{[]string{"cancel"}, "hint: see pipe cancel --help\n"},
		{[]string{"plan", "--bogus"}, "hint: see pipe plan --help\n"},
		{[]string{"nope"}, "hint: run pipe --help for the list of commands\n"},
		{[]string{"-C", ".", "secret", "nope"}, "hint: run pipe secret --help for the list of commands\n"},
		{[]string{"version", "extra"}, "hint: see pipe version --help\n"},
	} {
		code, _, stderr := runPipe(t, nil, tc.args...)
		if code != ExitUsage {
			t.Errorf("pipe %v: exit %d, want %d", tc.args, code, ExitUsage)
		}
		if !strings.HasSuffix(stderr, tc.want) || strings.Contains(stderr, "`") {
			t.Errorf("pipe %v: stderr\n%s\nwant it to end with %q and have no backticks", tc.args, stderr, tc.want)
		}
	}

	var b bytes.Buffer
	e := &Error{Summary: "no `kind` in \"a`b\"", Detail: "line `one`\nline two", Hint: "run `pipe validate`"}
	renderTo(&b, e, style{})
	want := "error: no kind in \"a`b\"\n  line one\n  line two\nhint: run pipe validate\n"
	if b.String() != want {
		t.Errorf("renderTo without colour:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	renderTo(&b, &Error{Summary: "failed", Hint: "run `pipe validate`"}, style{color: true})
	if !strings.Contains(b.String(), "run \x1b[1mpipe validate\x1b[0m\n") {
		t.Errorf("renderTo with colour: the command is not bold: %q", b.String())
	}
}

// TestHelpGolden compares every command's --help (no colour, 80 columns)
// with testdata/help/<command path>.golden; -update rewrites them.
func TestHelpGolden(t *testing.T) {
	dir := filepath.Join("testdata", "help")
	_, cmds := commandTree(t)
	want := map[string]bool{}
	for _, c := range cmds {
		path := strings.Fields(c.CommandPath())
		file := filepath.Join(dir, strings.Join(path, "_")+".golden")
		want[filepath.Base(file)] = true
		code, stdout, stderr := runPipe(t, nil, append(path[1:], "--help")...)
		if code != ExitOK || stderr != "" {
			t.Errorf("%s --help: exit %d, stderr %q", c.CommandPath(), code, stderr)
			continue
		}
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		golden, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s --help: %v (run go test ./internal/cli -run TestHelpGolden -update)", c.CommandPath(), err)
			continue
		}
		if stdout != string(golden) {
			t.Errorf("%s --help differs from %s (if intended, run go test ./internal/cli -run TestHelpGolden -update):\n%s",
				c.CommandPath(), file, lineDiff(string(golden), stdout))
		}
		for _, line := range flagLines(stdout) {
			if len(line) > 80 {
				t.Errorf("%s --help: a flag line wider than the 80-column terminal: %q", c.CommandPath(), line)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if want[e.Name()] {
			continue
		}
		if *update {
			_ = os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		t.Errorf("%s is the help of no command: remove it (or run with -update)", filepath.Join(dir, e.Name()))
	}
}

// flagLines are the lines of the flag sections of a help text.
func flagLines(help string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(help, "\n") {
		switch {
		case line == "Flags:" || line == "Global Flags:":
			in = true
		case line == "":
			in = false
		case in:
			out = append(out, line)
		}
	}
	return out
}

// lineDiff is a line diff of want and got (a longest common subsequence):
// "- " lines only in want, "+ " lines only in got, with their line numbers.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	// lcs[i][j] is the length of the LCS of w[i:] and g[j:].
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case j < len(g) && (i == len(w) || lcs[i][j+1] >= lcs[i+1][j]):
			b.WriteString("  +" + strconv.Itoa(j+1) + ": " + g[j] + "\n")
			j++
		default:
			b.WriteString("  -" + strconv.Itoa(i+1) + ": " + w[i] + "\n")
			i++
		}
	}
	return b.String()
}
