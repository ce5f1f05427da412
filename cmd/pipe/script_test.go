package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitops-pipe/pipe/internal/cli"
	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// TestMain lets the test binary act as the `pipe` command inside scripts,
// so the scripts drive the real main.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pipe": func() { os.Exit(cli.Main(cli.System())) },
	})
}

// TestScripts runs the end-to-end CLI scenarios in testdata/script/*.txtar.
// Each script runs in a fresh directory with a clean CI environment.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "../../testdata/script",
		Setup: func(e *testscript.Env) error {
			// Scripts opt into CI detection explicitly.
			for _, k := range []string{"CI", "GITHUB_ACTIONS", "GITLAB_CI"} {
				e.Setenv(k, "")
			}
			e.Setenv("NO_COLOR", "1")
			e.Setenv("EXAMPLES", examplesDir())
			// The project's test servers take a testing.TB (gitserver).
			if tb, ok := e.T().(testing.TB); ok {
				e.Values[tbKey{}] = tb
			}
			return nil
		},
		RequireExplicitExec: true,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"fakegithub": fakeGitHubCmd(), "webhookrecv": fakes.WebhookCmd(),
			"awsemu": awsemu.ScriptCmd(), "gitserver": gitServerCmd(), "fakegitlab": fakeGitLabCmd(),
			"exits": exitsCmd, "fileserver": fileServerCmd(),
			"helmchart": helmChartCmd, "ociregistry": ociRegistryCmd(),
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "examples":
				return examplesDir() != "", nil
			case "sshd":
				// gitserver ssh: Debian's openssh-server (.ci/run installs it).
				return gitserver.SSHMissing() == "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// examplesDir is the PipeCD example corpus shared by the team, if present.
func examplesDir() string {
	for _, p := range []string{"../../../shared/pipecd-examples", "../../shared/pipecd-examples"} {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	return ""
}

// fakeGitHubToken is the GITHUB_TOKEN `fakegithub start` sets: it must
// appear in no request body and in no file pipe writes.
const fakeGitHubToken = "ghs_fakeT0ken0123456789abcdef"

// fakeGitHubCmd is the script command that runs a fake GitHub REST API
// (internal/testenv/fakes) in the test process:
//
//	fakegithub start              start it; set GITHUB_API_URL and GITHUB_TOKEN
//	fakegithub comment N USER TEXT  add someone's comment to PR N
//	fakegithub comments N         print the comments of PR N
//	fakegithub labels N           print the labels of PR N
//	fakegithub statuses SHA       print the commit statuses of SHA
//	fakegithub pulls              print the pull requests (their head
//	                              branches must exist in the `gitserver`
//	                              repository, when one is started)
//	fakegithub requests           print "METHOD PATH" of every request
//	fakegithub nosecret           fail if a request body holds the token,
//	                              or a request the git server's token
func fakeGitHubCmd() func(*testscript.TestScript, bool, []string) {
	var running perScript[*fakes.GitHub]
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg {
			ts.Fatalf("fakegithub cannot be negated")
		}
		if len(args) == 0 {
			ts.Fatalf("usage: fakegithub start|comment|comments|labels|statuses|pulls|requests|nosecret")
		}
		fake := running.get(ts)
		if args[0] != "start" && fake == nil {
			ts.Fatalf("fakegithub start first")
		}
		num := func() int {
			if len(args) < 2 {
				ts.Fatalf("fakegithub %s needs a PR number", args[0])
			}
			n, err := strconv.Atoi(args[1])
			ts.Check(err)
			return n
		}
		switch args[0] {
		case "start":
			f, srv := fakes.NewGitHub(fakeGitHubToken)
			f.BranchExists = func(b string) bool { return branchExists(ts, b) }
			ts.Defer(srv.Close)
			running.set(ts, f)
			ts.Setenv("GITHUB_API_URL", srv.URL)
			ts.Setenv("GITHUB_TOKEN", fakeGitHubToken)
		case "comment":
			if len(args) != 4 {
				ts.Fatalf("usage: fakegithub comment N USER TEXT")
			}
			fake.AddComment(num(), args[2], args[3])
		case "comments":
			for _, c := range fake.Comments(num()) {
				fmt.Fprintf(ts.Stdout(), "=== comment %d by %s (edited %d times)\n%s\n", c.ID, c.User, c.Edited, c.Body)
			}
		case "labels":
			fmt.Fprintln(ts.Stdout(), strings.Join(fake.Labels(num()), "\n"))
		case "statuses":
			if len(args) != 2 {
				ts.Fatalf("usage: fakegithub statuses SHA")
			}
			fmt.Fprintln(ts.Stdout(), strings.Join(fake.Statuses(args[1]), "\n"))
		case "pulls":
			pulls := fake.PullRequests()
			if len(pulls) == 0 {
				fmt.Fprintln(ts.Stdout(), "no pull requests")
			}
			for _, p := range pulls {
				fmt.Fprint(ts.Stdout(), pullLine(p))
			}
		case "requests":
			printRequests(ts, fake.Requests())
		case "nosecret":
			noSecret(ts, fake.Requests(), fakeGitHubToken)
		default:
			ts.Fatalf("unknown fakegithub command %q", args[0])
		}
	}
}
