package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/platform"
	"github.com/gitops-pipe/pipe/internal/platform/registry"
	"github.com/gitops-pipe/pipe/internal/source"
)

// addPlatformFlags adds the flags every platform kind takes to reach its
// platform (kubectl's connection flags, --terraform-binary...) and
// --platform-provider.
func addPlatformFlags(cmd *cobra.Command) *registry.Flags {
	addDownloadFlags(cmd)
	return registry.AddFlags(cmd.Flags())
}

// platforms builds the platforms of one run: the one factory every
// command that plans, syncs or checks drift goes through. untrusted is set
// when planning an unreviewed change (see trust).
func (a *app) platforms(v *viper.Viper, root string, repo *config.Repo, flags *registry.Flags, untrusted bool) *registry.Platforms {
	env := platform.Env{
		Root:      root,
		Config:    repo.Config,
		Flag:      v.GetString,
		Getenv:    a.env.Getenv,
		Output:    a.err,
		Say:       func(format string, args ...any) { fmt.Fprintf(a.err, format+"\n", args...) },
		Warn:      func(msg string) { fmt.Fprintf(a.err, "%s %s\n", a.style.Yellow("warning:"), a.style.Text(msg)) },
		UserAgent: "pipe/" + buildVersion().Version,
		Untrusted: untrusted,
	}
	dl := a.downloads(v, repo.Config, untrusted)
	env.HTTP, env.Git, env.CacheDir, env.Offline = dl.HTTP, dl.Git, dl.CacheDir, dl.Offline
	if a.env.Environ != nil {
		env.Environ = a.env.Environ()
	}
	return registry.New(env, flags)
}

// deployEnv is what plans and syncs of one run work with.
func (a *app) deployEnv(root string, repo *config.Repo, git *source.Repo, records deploy.Records, pfs *registry.Platforms) *deploy.Env {
	return &deploy.Env{Root: root, Repo: repo, Git: git, Records: records, Now: a.env.Now,
		Platforms: func(kind config.Kind) (deploy.Platform, error) { return pfs.For(kind) },
		Unsealer:  a.unsealer(root, repo, false), Secrets: a.secrets}
}

// driftPlatforms adapts the run's platforms to drift checks.
func driftPlatforms(pfs *registry.Platforms) func(config.Kind) (drift.Platform, error) {
	return func(kind config.Kind) (drift.Platform, error) { return pfs.For(kind) }
}
