package kubernetes

import (
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/platform"
)

// Kind describes the Kubernetes platform to the registry: kubectl's
// connection flags (--kubeconfig, --context, --namespace, --server,
// --token...), and the platform of a run.
func Kind() platform.Kind {
	return platform.Kind{
		Kind: config.KindKubernetesApp,
		Flags: func(fs *pflag.FlagSet) any {
			f := genericclioptions.NewConfigFlags(true)
			f.AddFlags(fs)
			return f
		},
		New: func(env platform.Env, flags any) (platform.Platform, error) {
			cf, _ := flags.(*genericclioptions.ConfigFlags)
			conn := &Connector{Flags: cf, Config: env.Config, Provider: env.Provider, Options: Options{UserAgent: env.UserAgent},
				Untrusted: env.Untrusted, Root: env.Root}
			opts := PlatformOptions{
				Root: env.Root, Connect: conn.Connect, Key: conn.key, Namespace: conn.Namespace,
				Getenv: env.Getenv, HTTP: env.HTTP, Git: env.GitFetcher(), CacheDir: env.CacheDir, Offline: env.Offline, Untrusted: env.Untrusted,
				Say: env.Say, Warn: env.Warn,
			}
			if env.Config != nil {
				opts.ChartRepositories = env.Config.ChartRepositories
				opts.ChartRegistries = env.Config.ChartRegistries
			}
			return NewPlatform(opts), nil
		},
	}
}

// WorkFile implements platform.Platform: kubectl writes nothing in the
// working tree.
func (p *Platform) WorkFile(string) bool { return false }
