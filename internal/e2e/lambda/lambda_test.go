// Package lambda runs the end-to-end scripts of LambdaApp applications
// (testdata/script/lambda) against the local AWS emulator
// (internal/testenv/awsemu), started in the test process by each script's
// `awsemu start`.
package lambda

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
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
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"awsemu": awsemu.ScriptCmd(), "mkzip": mkzip},
		Condition:           condition,
		RequireExplicitExec: true,
	})
}

// awsCLI is Debian's AWS CLI (package awscli), not whatever aws is first
// in PATH.
const awsCLI = "/usr/bin/aws"

// condition adds [awscli]: Debian's AWS CLI is installed. When it is not
// and PIPE_REQUIRE_AWSCLI=1 (CI installs it), the condition is an error,
// so that the scripts needing it fail instead of being skipped.
func condition(cond string) (bool, error) {
	switch cond {
	case "awscli":
		if _, err := os.Stat(awsCLI); err != nil {
			if os.Getenv("PIPE_REQUIRE_AWSCLI") == "1" {
				return false, fmt.Errorf("PIPE_REQUIRE_AWSCLI=1 but %s is missing (apt-get install awscli)", awsCLI)
			}
			return false, nil
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// mkzip OUT FILE... writes a zip archive of the script's files (by their
// base names): function code to put in S3.
func mkzip(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: mkzip OUT FILE...")
	}
	out, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	zw := zip.NewWriter(out)
	for _, name := range args[1:] {
		data, err := os.ReadFile(ts.MkAbs(name))
		ts.Check(err)
		w, err := zw.Create(filepath.Base(name))
		ts.Check(err)
		_, err = w.Write(data)
		ts.Check(err)
	}
	ts.Check(zw.Close())
	ts.Check(out.Close())
}
