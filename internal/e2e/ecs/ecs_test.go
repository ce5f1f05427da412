// Package ecs runs the end-to-end scripts of ECSApp applications
// (testdata/script/ecs) against the local AWS emulator
// (internal/testenv/awsemu: ECS and ELBv2), started in the test process by
// each script's `awsemu start`.
package ecs

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

// TestECSScripts runs testdata/script/ecs/*.txtar in a clean environment:
// no CI detection, no AWS configuration of the machine. [awscli] is
// Debian's AWS CLI (e2etest.Condition).
func TestECSScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../../testdata/script/ecs",
		Setup:               e2etest.CleanEnv,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"awsemu": awsemu.ScriptCmd()},
		Condition:           e2etest.Condition,
		RequireExplicitExec: true,
	})
}
