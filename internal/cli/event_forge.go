package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/report"
)

// eventPullRequester is the GitHub or GitLab client that opens the pull
// requests of makePullRequest watchers: --forge, else the CI system pipe
// runs in, else the token that is set. nil (with a note) when there is no
// token: the branch is pushed and no request opened, as PipeCD does.
func (a *app) eventPullRequester(v *viper.Viper) (report.PullRequester, error) {
	forge := v.GetString("forge")
	if forge == "" || forge == "auto" {
		switch {
		case a.ci.Provider == ci.GitLab:
			forge = "gitlab"
		case a.ci.Provider == ci.GitHub:
			forge = "github"
		case a.env.Getenv("GITLAB_TOKEN") != "" && a.env.Getenv("CI_API_V4_URL") != "":
			forge = "gitlab"
		default:
			forge = "github"
		}
	}
	switch forge {
	case "none":
		return nil, nil
	case "github":
		token := a.env.Getenv("GITHUB_TOKEN")
		if token == "" {
			token = a.env.Getenv("GH_TOKEN")
		}
		repo := a.ci.Repository
		if repo == "" {
			repo = a.env.Getenv("GITHUB_REPOSITORY")
		}
		if token == "" || repo == "" {
			fmt.Fprintln(a.err, "no GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name): makePullRequest watchers push their branch and open no pull request")
			return nil, nil
		}
		api := a.ci.APIURL
		if api == "" {
			api = a.env.Getenv("GITHUB_API_URL")
		}
		g, err := report.NewGitHub(a.httpClient(), api, repo, token)
		if err != nil {
			return nil, usageError("GitHub: %v", err)
		}
		return g, nil
	case "gitlab":
		token, job, project := a.gitlabAuth()
		if job {
			// GitLab refuses to open merge requests with a job token: every
			// run would push the branch and fail.
			fmt.Fprintln(a.err, "CI_JOB_TOKEN cannot open merge requests: makePullRequest watchers push their branch only; set GITLAB_TOKEN (a project access token with the api scope) to open them")
			return nil, nil
		}
		api := a.ci.APIURL
		if api == "" {
			api = a.env.Getenv("CI_API_V4_URL")
		}
		if token == "" || project == "" || api == "" {
			fmt.Fprintln(a.err, "no GITLAB_TOKEN, CI_API_V4_URL and CI_PROJECT_ID: makePullRequest watchers push their branch and open no merge request")
			return nil, nil
		}
		p, err := report.NewGitLabPullRequester(a.httpClient(), api, project, token, job)
		if err != nil {
			return nil, usageError("GitLab: %v", err)
		}
		return p, nil
	}
	return nil, usageError("--forge %q: use auto, github, gitlab or none", strings.TrimSpace(forge))
}
