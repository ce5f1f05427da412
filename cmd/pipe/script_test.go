package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitops-pipe/pipe/internal/cli"
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
			return nil
		},
		RequireExplicitExec: true,
		Condition: func(cond string) (bool, error) {
			if cond == "examples" {
				return examplesDir() != "", nil
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
