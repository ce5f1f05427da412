package cli

import (
	"github.com/gitops-pipe/pipe/internal/config"
)

func (a *app) changedApps(root string, repo *config.Repo, entries []appEntry, opts *appsOptions) ([]appEntry, error) {
	return nil, &Error{Code: ExitFailed, Summary: "--changed is not wired yet"}
}
