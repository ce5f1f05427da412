package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/report"
	"github.com/gitops-pipe/pipe/internal/state"
)

// This file connects commands to the CI system they run in: pull/merge
// request comments, job summaries, step outputs, deployments and commit
// statuses. Tokens come from the environment here, and nowhere below.

// ciReportOptions are the plan flags about CI reporting.
type ciReportOptions struct {
	comment       bool
	pr            int
	title         string
	skipNoChanges bool
	labels        bool
	status        bool
	dotenv        string
}

// tokenEnv are the variables that may hold credentials: their values are
// redacted from everything pipe posts.
var tokenEnv = []string{"GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "CI_JOB_TOKEN", "PIPE_GIT_TOKEN",
	"ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "CI_REGISTRY_PASSWORD"}

func (a *app) redactor() *report.Redactor {
	r := report.NewRedactor()
	for _, k := range tokenEnv {
		r.Add(a.env.Getenv(k))
	}
	return r
}

// httpClient is the client of the requests to GitHub and GitLab; it masks
// the run's secrets in what it sends.
// A redirect to another host is not followed: go-github sets the token on
// every request it sends, the redirected one included.
func (a *app) httpClient() *http.Client {
	c := a.reportHTTPClient(60 * time.Second)
	c.CheckRedirect = sameHostRedirects
	return c
}

func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return fmt.Errorf("not following a redirect from %s to %s://%s: the token would go along", via[0].URL.Host, req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// githubClient returns the GitHub client of the run's repository, or nil
// when there is no token.
func (a *app) githubClient() (*report.GitHub, error) {
	token := a.env.Getenv("GITHUB_TOKEN")
	if token == "" {
		token = a.env.Getenv("GH_TOKEN")
	}
	if token == "" {
		return nil, nil
	}
	return report.NewGitHub(a.httpClient(), a.ci.APIURL, a.ci.Repository, token)
}

// gitlabAuth is the run's GitLab token (GITLAB_TOKEN, sent as
// PRIVATE-TOKEN, else CI_JOB_TOKEN, sent as JOB-TOKEN: job is true) and
// project (CI_PROJECT_ID, else its path).
func (a *app) gitlabAuth() (token string, job bool, project string) {
	token = a.env.Getenv("GITLAB_TOKEN")
	if token == "" {
		token, job = a.env.Getenv("CI_JOB_TOKEN"), true
	}
	project = a.env.Getenv("CI_PROJECT_ID")
	if project == "" {
		project = a.ci.Repository
	}
	return token, job, project
}

// gitlabCommenter returns the notes client of merge request iid; its note
// links start at the project's page (gitlabProjectURL).
func (a *app) gitlabCommenter(iid int) (*report.GitLabCommenter, error) {
	token, job, project := a.gitlabAuth()
	if token == "" {
		return nil, errors.New("no token: set GITLAB_TOKEN (a project access token with the api scope)")
	}
	c, err := report.NewGitLab(a.httpClient(), a.ci.APIURL, project, iid, token, job)
	if err != nil {
		return nil, err
	}
	return c.WithProjectURL(a.gitlabProjectURL()), nil
}

// gitlabProjectURL is the web page of the run's GitLab project:
// CI_PROJECT_URL, else CI_SERVER_URL and CI_PROJECT_PATH; "" when neither
// is known. The API addresses the project by its numeric id, which is not
// where its pages are.
func (a *app) gitlabProjectURL() string {
	if u := strings.TrimRight(a.env.Getenv("CI_PROJECT_URL"), "/"); u != "" {
		return u
	}
	if a.ci.ServerURL != "" && a.ci.Repository != "" {
		return strings.TrimRight(a.ci.ServerURL, "/") + "/" + strings.Trim(a.ci.Repository, "/")
	}
	return ""
}

// reportPlan writes the plan's job summary, step outputs and dotenv report
// when running in CI, and posts the plan comment with --comment.
func (a *app) reportPlan(ctx context.Context, o ciReportOptions, out planFile) error {
	r := &report.PlanReport{Title: o.title, CI: a.ci, Plans: out.Plans, Notices: out.Notices}
	for _, e := range out.Errors {
		r.Errors = append(r.Errors, report.AppError{App: e.App, Error: e.Error, Hint: e.Hint})
	}
	red := a.redactor()
	if a.ci.Provider == ci.GitHub {
		for _, e := range out.Errors {
			report.GitHubAnnotation(a.err, "error", e.File, "pipe plan: "+e.App, red.Redact(e.Error))
		}
	}
	var errs []error
	var usage *Error
	outs := report.PlanOutputs(r)
	if p := a.ci.StepSummaryPath; p != "" {
		if err := report.AppendStepSummary(p, a.mask(red.Redact(report.PlanSummary(r, report.StepSummaryRoom(p))))); err != nil {
			errs = append(errs, fmt.Errorf("writing the job summary: %w", err))
		}
	}
	if o.dotenv != "" {
		if err := report.WriteDotenv(o.dotenv, a.redactOutputs(red, outs)); err != nil {
			errs = append(errs, fmt.Errorf("writing the dotenv report: %w", err))
		}
	}
	if o.comment || o.labels || o.status {
		url, err := a.postPlan(ctx, o, r, red)
		if e := (*Error)(nil); errors.As(err, &e) && e.Code == ExitUsage {
			usage = e
		} else if err != nil {
			errs = append(errs, err)
		} else if url != "" {
			outs = append(outs, report.Output{Name: "comment_url", Value: url})
		}
	}
	if p := a.ci.OutputPath; p != "" {
		if err := report.WriteGitHubOutputs(p, a.redactOutputs(red, outs)); err != nil {
			errs = append(errs, fmt.Errorf("writing step outputs: %w", err))
		}
	}
	if usage != nil {
		return usage
	}
	if len(errs) > 0 {
		return &Error{Code: ExitFailed, Summary: "reporting the plan to CI failed", Detail: red.Redact(errors.Join(errs...).Error())}
	}
	return nil
}

// redactOutputs masks the secrets of red and of the run in outputs.
func (a *app) redactOutputs(red *report.Redactor, outs []report.Output) []report.Output {
	res := slices.Clone(outs)
	for i := range res {
		res[i].Value = a.mask(red.Redact(res[i].Value))
	}
	return res
}

// postPlan posts (or updates) the plan comment and the outcome labels; it
// returns the comment's URL.
func (a *app) postPlan(ctx context.Context, o ciReportOptions, r *report.PlanReport, red *report.Redactor) (string, error) {
	pr := o.pr
	if pr == 0 {
		pr = a.ci.PullRequest
	}
	switch a.ci.Provider {
	case ci.GitHub, ci.GitLab:
	default:
		return "", &Error{Code: ExitUsage, Summary: "--comment and --labels need GitHub Actions or GitLab CI",
			Hint: "run in a pull/merge request pipeline, or set GITHUB_ACTIONS=true with GITHUB_REPOSITORY, GITHUB_TOKEN and --pr"}
	}
	if pr == 0 && (o.comment || o.labels) {
		fmt.Fprintf(a.err, "%s not a pull/merge request and no --pr: no comment posted\n", a.style.Yellow("warning:"))
		o.comment, o.labels = false, false
		if !o.status || a.ci.Provider != ci.GitHub {
			return "", nil
		}
	}
	if a.ci.Provider == ci.GitLab {
		if o.status {
			fmt.Fprintf(a.err, "%s --status is supported on GitHub only\n", a.style.Yellow("warning:"))
		}
		c, err := a.gitlabCommenter(pr)
		if err != nil {
			return "", fmt.Errorf("merge request: %w", err)
		}
		var url string
		if o.comment {
			res, err := report.PostPlan(ctx, c, r, red, o.skipNoChanges)
			if err != nil {
				return "", fmt.Errorf("merge request note: %w", err)
			}
			a.saidPosted(res, "!", pr)
			url = res.URL
		}
		if o.labels {
			add, remove := report.PlanLabels(r)
			if err := c.SetLabels(ctx, add, remove); err != nil {
				return url, fmt.Errorf("merge request labels: %w", err)
			}
		}
		return url, nil
	}
	gh, err := a.githubClient()
	if err != nil {
		return "", err
	}
	if gh == nil {
		return "", &Error{Code: ExitUsage, Summary: "no GitHub token: set GITHUB_TOKEN to post the plan",
			Hint: "in a workflow: env: {GITHUB_TOKEN: ${{ github.token }}} with permissions pull-requests: write"}
	}
	var url string
	if o.comment {
		res, err := report.PostPlan(ctx, gh.PR(pr), r, red, o.skipNoChanges)
		if err != nil {
			return "", fmt.Errorf("pull request comment: %w", err)
		}
		a.saidPosted(res, "#", pr)
		url = res.URL
	}
	if o.labels {
		add, remove := report.PlanLabels(r)
		if err := gh.SetLabels(ctx, pr, add, remove); err != nil {
			return url, fmt.Errorf("pull request labels: %w", err)
		}
	}
	if o.status {
		state, desc, context := report.PlanStatus(r)
		target := url
		if target == "" {
			target = a.ci.RunURL
		}
		if err := gh.CommitStatus(ctx, a.statusCommit(r), state, context, desc, target); err != nil {
			return url, fmt.Errorf("commit status: %w", err)
		}
	}
	return url, nil
}

// statusCommit is the commit a plan's status goes on: on pull_request
// events the PR's head (the checkout is a merge commit GitHub shows
// nowhere); otherwise the commit that was planned (a comment command
// checks out the PR's head), else the run's commit.
func (a *app) statusCommit(r *report.PlanReport) string {
	if strings.HasPrefix(a.ci.EventName, "pull_request") && a.ci.SHA != "" {
		return a.ci.SHA
	}
	for _, p := range r.Plans {
		if p.Head.Hash != "" {
			return p.Head.Hash
		}
	}
	return a.ci.SHA
}

func (a *app) saidPosted(res report.StickyResult, sign string, pr int) {
	switch {
	case res.Created+res.Updated+res.Deleted == 0 && res.URL == "":
		fmt.Fprintf(a.err, "no changes: no comment posted on %s%d\n", sign, pr)
	case res.Created+res.Updated+res.Deleted == 0:
		fmt.Fprintf(a.err, "plan comment on %s%d is up to date: %s\n", sign, pr, res.URL)
	default:
		fmt.Fprintf(a.err, "plan comment on %s%d (%d created, %d updated, %d deleted): %s\n",
			sign, pr, res.Created, res.Updated, res.Deleted, res.URL)
	}
}

// foldStart opens a collapsible section of the CI log on stdout (a GitHub
// ::group::, a GitLab section) titled title, and returns what closes it;
// outside those CI systems both do nothing.
func (a *app) foldStart(id, title string) (end func()) {
	title = strings.NewReplacer("\r", " ", "\n", " ").Replace(title)
	switch a.ci.Provider {
	case ci.GitHub:
		fmt.Fprintf(a.out, "::group::%s\n", title)
		return func() { fmt.Fprintln(a.out, "::endgroup::") }
	case ci.GitLab:
		name := "pipe_" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
				return r
			}
			return '_'
		}, strings.ToLower(id))
		fmt.Fprintf(a.out, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", a.env.Now().Unix(), name, title)
		return func() { fmt.Fprintf(a.out, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", a.env.Now().Unix(), name) }
	}
	return func() {}
}

// warn prints err as a warning; nil prints nothing.
func (a *app) warn(err error) {
	if err != nil {
		fmt.Fprintf(a.err, "%s %v\n", a.style.Yellow("warning:"), a.redactor().Redact(err.Error()))
	}
}

// reportSyncResult reports a finished (or paused) deployment to the CI
// system: in GitHub Actions a result comment on the pull request that
// introduced the commit (or on the commit), a deployment with its status
// on the app's environment, a commit status pipe/sync/<app>, the job
// summary and step outputs (status, record_id, deployment_id); in GitLab
// CI a result note on the merge request and the dotenv report named by
// PIPE_DOTENV. PIPE_SYNC_REPORT selects among comment, deployment and
// status (default: all; "none" for none); PIPE_TITLE is the comment title.
// Outside CI, or with a nil record, it does nothing. Its error is meant for
// a warning: reporting never changes a deployment's outcome.
func (a *app) reportSyncResult(ctx context.Context, rec *state.Record) error {
	if rec == nil || !a.ci.IsCI() {
		return nil
	}
	want := func(what string) bool {
		sel := strings.TrimSpace(a.env.Getenv("PIPE_SYNC_REPORT"))
		return sel == "" || slices.Contains(strings.Split(sel, ","), what)
	}
	title := a.env.Getenv("PIPE_TITLE")
	red := a.redactor()
	now := a.env.Now()
	var errs []error
	outs := []report.Output{{Name: "status", Value: string(rec.Status)}, {Name: "record_id", Value: rec.ID}}
	switch a.ci.Provider {
	case ci.GitHub:
		gh, err := a.githubClient()
		switch {
		case err != nil:
			errs = append(errs, err)
		case gh == nil:
			if want("comment") || want("deployment") || want("status") {
				fmt.Fprintf(a.err, "%s GITHUB_TOKEN is not set: no result comment, deployment or status posted\n", a.style.Yellow("warning:"))
			}
		default:
			posted, err := report.PostGitHubResult(ctx, gh, a.ci, rec, report.ResultOptions{
				Title: title, Environment: a.environmentOf(rec.App), Redactor: red, Now: now,
				Comment: want("comment"), Deployment: want("deployment"), Status: want("status"),
			})
			if err != nil {
				errs = append(errs, err)
			}
			if posted.DeploymentID != 0 {
				outs = append(outs, report.Output{Name: "deployment_id", Value: fmt.Sprint(posted.DeploymentID)})
			}
			if posted.CommentURL != "" {
				fmt.Fprintf(a.err, "result posted: %s\n", posted.CommentURL)
			}
		}
	case ci.GitLab:
		if want("comment") {
			if err := a.postGitLabResult(ctx, title, rec, red, now); err != nil {
				errs = append(errs, fmt.Errorf("merge request note: %w", err))
			}
		}
		if p := a.env.Getenv("PIPE_DOTENV"); p != "" {
			if err := report.WriteDotenv(p, a.redactOutputs(red, outs)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if p := a.ci.StepSummaryPath; p != "" {
		body := report.ResultComment(title, a.ci, rec, now)
		_, body, _ = strings.Cut(body, "\n") // the marker
		if err := report.AppendStepSummary(p, a.mask(red.Redact(body))); err != nil {
			errs = append(errs, fmt.Errorf("writing the job summary: %w", err))
		}
	}
	if p := a.ci.OutputPath; p != "" {
		if err := report.WriteGitHubOutputs(p, a.redactOutputs(red, outs)); err != nil {
			errs = append(errs, fmt.Errorf("writing step outputs: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reporting the result of %s: %s", rec.App, red.Redact(err.Error()))
	}
	return nil
}

// postGitLabResult updates the result note of the app on the merge
// request of the pipeline, or on the one that introduced the commit.
func (a *app) postGitLabResult(ctx context.Context, title string, rec *state.Record, red *report.Redactor, now time.Time) error {
	c, err := a.gitlabCommenter(a.ci.PullRequest)
	if err != nil {
		return err
	}
	if a.ci.PullRequest == 0 {
		sha := rec.Target.Hash
		if sha == "" {
			sha = a.ci.SHA
		}
		iid, err := c.MergeRequestOfCommit(ctx, sha)
		if err != nil || iid == 0 {
			return err
		}
		c = c.ForMergeRequest(iid)
	}
	body := red.Redact(report.ResultComment(title, a.ci, rec, now))
	_, err = report.Upsert(ctx, c, strings.TrimSuffix(report.ResultMarker(title, rec.App), " -->"), []string{body})
	return err
}

// environmentOf is the deployment environment of an app: its env label,
// else its name.
func (a *app) environmentOf(name string) string {
	root, err := config.FindRoot(a.repoDir)
	if err != nil {
		return name
	}
	repo, err := config.LoadRepo(root)
	if err != nil {
		return name
	}
	ap, err := repo.App(name)
	if err != nil {
		return name
	}
	if env := ap.Labels["env"]; env != "" {
		return env
	}
	return name
}
