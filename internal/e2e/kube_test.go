package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitops-pipe/pipe/internal/cli"
	"github.com/gitops-pipe/pipe/internal/testenv/kube"
)

// TestMain starts one control plane for the package (in the parent test
// process only: testscript re-executes this binary as `pipe`).
func TestMain(m *testing.M) {
	testscript.Main(runner{m}, map[string]func(){
		"pipe": func() { os.Exit(cli.Main(cli.System())) },
	})
}

type runner struct{ m *testing.M }

func (r runner) Run() int { return kube.Run(r.m) }

// TestKubeScripts runs testdata/script/kube/*.txtar against the control
// plane. Each script gets KUBECONFIG, kubectl on PATH, and a unique
// namespace in $NS (created by pipe through autoCreateNamespace).
func TestKubeScripts(t *testing.T) {
	c := kube.Shared(t)
	testscript.Run(t, testscript.Params{
		Dir: "../../testdata/script/kube",
		Setup: func(e *testscript.Env) error {
			for _, k := range []string{"CI", "GITHUB_ACTIONS", "GITLAB_CI"} {
				e.Setenv(k, "")
			}
			e.Setenv("NO_COLOR", "1")
			e.Setenv("KUBECONFIG", c.Kubeconfig())
			e.Setenv("PATH", filepath.Dir(c.Binaries.Kubectl)+string(os.PathListSeparator)+e.Getenv("PATH"))
			ns := "e2e-" + strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(filepath.Base(e.WorkDir)))
			if len(ns) > 50 {
				ns = ns[:50]
			}
			e.Setenv("NS", strings.Trim(ns, "-"))
			return nil
		},
		RequireExplicitExec: true,
	})
}
