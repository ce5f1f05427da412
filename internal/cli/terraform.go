package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/platform/terraform"
)

// addTerraformFlags adds the flags that say how terraform runs.
func addTerraformFlags(cmd *cobra.Command) {
	cmd.Flags().String("terraform-binary", "", "the terraform or tofu binary for TerraformApp applications: a path or a name in PATH (default: the TERRAFORM platform provider's binary, else terraform, then tofu, in PATH); env PIPE_TERRAFORM_BINARY")
}

// terraformRunner says how terraform runs for a TerraformApp: the binary
// from --terraform-binary, else the TERRAFORM platform provider's setting,
// else PATH; the provider's vars; terraform's own output on stderr. It
// returns a description of where the binary comes from and the platform
// provider (nil when none matches).
func (a *app) terraformRunner(v *viper.Viper, cfg *config.PipeSpec, ap *config.App, providerName string) (*deploy.TerraformRunner, string, *config.PlatformProvider, error) {
	r := &deploy.TerraformRunner{
		Options: terraform.Options{Stdout: a.err, Stderr: a.err},
	}
	if a.env.Environ != nil {
		r.Options.Env = a.env.Environ()
		r.Find.Env = r.Options.Env
	}
	where := "terraform from PATH"
	p, err := pickPlatformProvider(cfg, ap, config.PlatformTerraform, providerName)
	if err != nil {
		return nil, "", nil, err
	}
	if p != nil {
		where = "platform provider " + p.Name
		if tc := p.Terraform(); tc != nil {
			r.Options.Vars = tc.Vars
			if tc.Binary != "" {
				r.Find.Binary = tc.Binary
				r.Find.BinarySource = fmt.Sprintf("%s platformProviders %s config.binary", config.RepoConfigFile, p.Name)
			}
		}
	}
	if b := v.GetString("terraform-binary"); b != "" {
		r.Find.Binary = b
		r.Find.BinarySource = "--terraform-binary"
	}
	if r.Find.Binary != "" {
		where = r.Find.Binary + " (" + r.Find.BinarySource + ")"
	}
	return r, where, p, nil
}

// terraformDriftRunner is terraformRunner for drift checks: terraform's own
// output is not narrated (many apps are checked at once), and the platform
// provider is returned for its driftDetectionEnabled.
func (a *app) terraformDriftRunner(v *viper.Viper, cfg *config.PipeSpec, ap *config.App, providerName string) (*deploy.TerraformRunner, *config.PlatformProvider, error) {
	r, _, p, err := a.terraformRunner(v, cfg, ap, providerName)
	if err != nil {
		return nil, nil, err
	}
	r.Options.Stdout, r.Options.Stderr = nil, nil
	return r, p, nil
}
