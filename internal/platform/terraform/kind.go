package terraform

import (
	"github.com/spf13/pflag"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/platform"
)

// Kind describes the Terraform platform to the registry: the
// --terraform-binary flag, and the platform of a run.
func Kind() platform.Kind {
	return platform.Kind{
		Kind: config.KindTerraformApp,
		Flags: func(fs *pflag.FlagSet) any {
			fs.String("terraform-binary", "", "the terraform or tofu binary for TerraformApp applications: a path or a name in PATH (default: the TERRAFORM platform provider's binary, else terraform, then tofu, in PATH); env PIPE_TERRAFORM_BINARY")
			return nil
		},
		New: func(env platform.Env, _ any) (platform.Platform, error) {
			opts := PlatformOptions{Root: env.Root, Config: env.Config, Provider: env.Provider, Env: env.Environ,
				Output: env.Output, TempDir: env.TempDir, Say: env.Say, Untrusted: env.Untrusted}
			if env.Flag != nil {
				opts.Binary = env.Flag("terraform-binary")
			}
			return NewPlatform(opts), nil
		},
	}
}
