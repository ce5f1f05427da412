package lambda

import (
	"strconv"

	"github.com/spf13/pflag"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/platform"
)

// Kind describes the Lambda platform to the registry: the
// --mask-all-env flag, and the platform of a run.
func Kind() platform.Kind {
	return platform.Kind{
		Kind: config.KindLambdaApp,
		Flags: func(fs *pflag.FlagSet) any {
			fs.Bool("mask-all-env", false, "mask every environment value of Lambda functions in plans and drift reports, not only those whose names or values look like credentials; env PIPE_MASK_ALL_ENV")
			return nil
		},
		New: func(env platform.Env, _ any) (platform.Platform, error) {
			opts := Options{Root: env.Root, Config: env.Config, Provider: env.Provider, Getenv: env.Getenv,
				HTTP: env.HTTP, Say: env.Say, Warn: env.Warn, Untrusted: env.Untrusted, Git: env.GitFetcher()}
			if env.Flag != nil {
				opts.MaskAllEnv, _ = strconv.ParseBool(env.Flag("mask-all-env"))
			}
			return New(opts), nil
		},
	}
}
