// Package lambda runs the end-to-end scripts of LambdaApp applications
// (testdata/script/lambda) against the local AWS emulator
// (internal/testenv/awsemu), started in the test process by each script's
// `awsemu start`.
package lambda

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitops-pipe/pipe/internal/cli"
	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pipe": func() { os.Exit(cli.Main(cli.System())) },
	})
}

// TestLambdaScripts runs testdata/script/lambda/*.txtar in a clean
// environment: no CI detection, no AWS configuration of the machine.
func TestLambdaScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "../../../testdata/script/lambda",
		Setup: func(e *testscript.Env) error {
			for _, k := range []string{"CI", "GITHUB_ACTIONS", "GITLAB_CI", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
				e.Setenv(k, "")
			}
			e.Setenv("NO_COLOR", "1")
			e.Setenv("GIT_AUTHOR_NAME", "t")
			e.Setenv("GIT_AUTHOR_EMAIL", "t@example.com")
			e.Setenv("GIT_COMMITTER_NAME", "t")
			e.Setenv("GIT_COMMITTER_EMAIL", "t@example.com")
			return nil
		},
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"awsemu": awsemu.ScriptCmd()},
		RequireExplicitExec: true,
	})
}
