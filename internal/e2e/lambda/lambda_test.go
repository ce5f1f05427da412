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
	"github.com/gitops-pipe/pipe/internal/e2e/e2etest"
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
		Dir:                 "../../../testdata/script/lambda",
		Setup:               e2etest.CleanEnv,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"awsemu": awsemu.ScriptCmd(), "mkzip": e2etest.Mkzip},
		Condition:           e2etest.Condition,
		RequireExplicitExec: true,
	})
}
