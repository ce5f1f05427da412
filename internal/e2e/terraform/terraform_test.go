// Package terraform runs the end-to-end scripts of TerraformApp
// applications (testdata/script/terraform) against real Terraform and
// OpenTofu binaries built from source.
package terraform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitops-pipe/pipe/internal/cli"
	"github.com/gitops-pipe/pipe/internal/testenv/tfbin"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pipe": func() { os.Exit(cli.Main(cli.System())) },
	})
}

// TestTerraformScripts runs testdata/script/terraform/*.txtar once with
// Terraform and once with OpenTofu, both built from source by tfbin. Each
// script gets the binary as $TFBIN (and through PIPE_TERRAFORM_BINARY), in
// a clean environment: no CLI config, no plugin cache, no network use.
func TestTerraformScripts(t *testing.T) {
	bins := tfbin.ForTest(t)
	for _, flavor := range []struct{ name, path string }{{"terraform", bins.Terraform}, {"tofu", bins.Tofu}} {
		t.Run(flavor.name, func(t *testing.T) {
			testscript.Run(t, testscript.Params{
				Dir: "../../../testdata/script/terraform",
				Setup: func(e *testscript.Env) error {
					for _, k := range []string{"CI", "GITHUB_ACTIONS", "GITLAB_CI", "TF_PLUGIN_CACHE_DIR", "TF_LOG", "TF_WORKSPACE"} {
						e.Setenv(k, "")
					}
					e.Setenv("NO_COLOR", "1")
					cliConfig := filepath.Join(e.WorkDir, ".terraformrc")
					if err := os.WriteFile(cliConfig, nil, 0o644); err != nil {
						return err
					}
					e.Setenv("TF_CLI_CONFIG_FILE", cliConfig)
					e.Setenv("CHECKPOINT_DISABLE", "1")
					e.Setenv("TF_IN_AUTOMATION", "1")
					e.Setenv("TFBIN", flavor.path)
					e.Setenv("PIPE_TERRAFORM_BINARY", flavor.path)
					return nil
				},
				RequireExplicitExec: true,
			})
		})
	}
}
