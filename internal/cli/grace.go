package cli

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/execute"
)

// githubGrace fits the cleanup of a cancelled GitHub Actions job: the
// runner sends SIGINT, SIGTERM 7.5 s later (which pipe takes as "exit
// now") and SIGKILL 2.5 s after that.
const githubGrace = 6 * time.Second

func addGraceFlag(cmd *cobra.Command) {
	cmd.Flags().Duration("grace", 0, "time allowed, after SIGINT/SIGTERM or a lost lease, to roll back, record and unlock (default: 6s on GitHub Actions, which kills a cancelled job 7.5s after its SIGINT; else 30s); a second signal exits at once")
}

// grace is the cleanup budget of a sync: --grace, else what the CI
// system lets a cancelled job have.
func (a *app) grace(v *viper.Viper) time.Duration {
	if d := v.GetDuration("grace"); d > 0 {
		return d
	}
	if a.ci.Provider == ci.GitHub {
		return githubGrace
	}
	return execute.DefaultGrace
}
