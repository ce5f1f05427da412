package report

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/gitops-pipe/pipe/internal/drift"
)

// DriftIssueLabel marks the issues pipe drift keeps.
const DriftIssueLabel = "pipe-drift"

// DriftIssues keeps one issue per drifted application (GitHub or GitLab):
// opened when drift is found, its body updated while the drift changes,
// closed with a comment when the application is back in sync.
type DriftIssues struct {
	t issueTracker
	// where names the repository or project in errors.
	where string
}

// driftIssue is an open issue of a tracker: its number (GitHub) or iid
// (GitLab).
type driftIssue struct {
	number    int
	body, url string
}

// issueTracker is the issue API of one repository or project.
type issueTracker interface {
	// listOpen returns the open issues labelled DriftIssueLabel, all pages.
	listOpen(ctx context.Context) ([]driftIssue, error)
	create(ctx context.Context, title, body string) (driftIssue, error)
	setBody(ctx context.Context, number int, body string) error
	comment(ctx context.Context, number int, body string) error
	close(ctx context.Context, number int) error
}

// NewDriftIssues returns the GitHub issue keeper of repository
// "owner/name" at apiURL ("" means https://api.github.com).
func NewDriftIssues(httpClient *http.Client, apiURL, repository, token string) (*DriftIssues, error) {
	g, err := NewGitHub(httpClient, apiURL, repository, token)
	if err != nil {
		return nil, err
	}
	return &DriftIssues{t: githubIssues{g}, where: repository}, nil
}

// githubIssues is the issueTracker of a GitHub repository.
type githubIssues struct{ g *GitHub }

func (gi githubIssues) listOpen(ctx context.Context) ([]driftIssue, error) {
	g := gi.g
	var out []driftIssue
	opts := &github.IssueListByRepoOptions{State: "open", Labels: []string{DriftIssueLabel}, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		issues, resp, err := g.client.Issues.ListByRepo(ctx, g.owner, g.repo, opts)
		if err != nil {
			return nil, ghError(err)
		}
		for _, is := range issues {
			if !is.IsPullRequest() {
				out = append(out, driftIssue{number: is.GetNumber(), body: is.GetBody(), url: is.GetHTMLURL()})
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (gi githubIssues) create(ctx context.Context, title, body string) (driftIssue, error) {
	labels := []string{DriftIssueLabel}
	is, _, err := gi.g.client.Issues.Create(ctx, gi.g.owner, gi.g.repo, &github.IssueRequest{Title: &title, Body: &body, Labels: &labels})
	if err != nil {
		return driftIssue{}, ghError(err)
	}
	return driftIssue{number: is.GetNumber(), body: is.GetBody(), url: is.GetHTMLURL()}, nil
}

func (gi githubIssues) setBody(ctx context.Context, number int, body string) error {
	_, _, err := gi.g.client.Issues.Edit(ctx, gi.g.owner, gi.g.repo, number, &github.IssueRequest{Body: &body})
	return ghError(err)
}

func (gi githubIssues) comment(ctx context.Context, number int, body string) error {
	_, _, err := gi.g.client.Issues.CreateComment(ctx, gi.g.owner, gi.g.repo, number, &github.IssueComment{Body: &body})
	return ghError(err)
}

func (gi githubIssues) close(ctx context.Context, number int) error {
	closed, reason := "closed", "completed"
	_, _, err := gi.g.client.Issues.Edit(ctx, gi.g.owner, gi.g.repo, number, &github.IssueRequest{State: &closed, StateReason: &reason})
	return ghError(err)
}

// IssueAction is what happened to one application's issue.
type IssueAction struct {
	App string `json:"app"`
	// Action is "opened", "updated", "closed" or "unchanged".
	Action string `json:"action"`
	Number int    `json:"number"`
	URL    string `json:"url,omitempty"`
}

func driftMarker(app string) string { return "<!-- pipe-drift app=" + app + " -->" }

// DriftIssueBody is the issue text of one drifted application.
func DriftIssueBody(a drift.AppResult, commit string) string {
	var b strings.Builder
	b.WriteString(driftMarker(a.App) + "\n")
	fmt.Fprintf(&b, "`pipe drift` found that the live state of **%s** no longer matches Git", driftHTML(a.App))
	if commit != "" {
		fmt.Fprintf(&b, " (%s)", driftCode(driftShort(commit)))
	}
	fmt.Fprintf(&b, ": %s.\n\n", a.Summary())
	var lines []string
	for _, o := range a.Drift {
		switch o.Action {
		case drift.ActionAdded:
			lines = append(lines, "+ "+o.Object+": in Git, not live")
		case drift.ActionDeleted:
			lines = append(lines, "- "+o.Object+": live, not in Git")
		default:
			lines = append(lines, "~ "+o.Object)
			for _, f := range o.Fields {
				lines = append(lines, "    "+drift.FieldLine(f))
			}
		}
	}
	body := driftClip(strings.Join(lines, "\n"), 60000)
	fence := driftFence(body)
	fmt.Fprintf(&b, "%sdiff\n%s\n%s\n\n", fence, body, fence)
	fmt.Fprintf(&b, "To bring the cluster back to Git: `pipe sync %s` (or `pipe drift %s --fix`). To keep a field that is changed on purpose, list it in `driftDetection.ignoreFields` of the application's config.\n\nThis issue is closed when the application is back in sync.\n", a.App, a.App)
	return b.String()
}

// Sync opens, updates or closes the issues of the applications of r that
// are out of sync or in sync; failed and skipped checks leave their issue
// as it is.
func (d *DriftIssues) Sync(ctx context.Context, r *drift.Report) ([]IssueAction, error) {
	open, err := d.openIssues(ctx)
	if err != nil {
		return nil, err
	}
	var out []IssueAction
	for _, a := range r.Apps {
		issue, ok := open[a.App]
		switch {
		case a.Status == drift.OutOfSync && !ok:
			title := "Drift: " + a.App + " is out of sync with Git"
			got, err := d.t.create(ctx, title, DriftIssueBody(a, r.Commit))
			if err != nil {
				return out, fmt.Errorf("open the drift issue of %s: %w", a.App, err)
			}
			out = append(out, IssueAction{App: a.App, Action: "opened", Number: got.number, URL: got.url})
		case a.Status == drift.OutOfSync:
			body := DriftIssueBody(a, r.Commit)
			if issue.body == body {
				out = append(out, IssueAction{App: a.App, Action: "unchanged", Number: issue.number, URL: issue.url})
				continue
			}
			if err := d.t.setBody(ctx, issue.number, body); err != nil {
				return out, fmt.Errorf("update the drift issue of %s (#%d): %w", a.App, issue.number, err)
			}
			out = append(out, IssueAction{App: a.App, Action: "updated", Number: issue.number, URL: issue.url})
		case a.Status == drift.InSync && ok:
			msg := "Back in sync with Git"
			if r.Commit != "" {
				msg += " at " + driftCode(driftShort(r.Commit))
			}
			msg += ": closing."
			if err := d.t.comment(ctx, issue.number, msg); err != nil {
				return out, fmt.Errorf("comment on the drift issue of %s (#%d): %w", a.App, issue.number, err)
			}
			if err := d.t.close(ctx, issue.number); err != nil {
				return out, fmt.Errorf("close the drift issue of %s (#%d): %w", a.App, issue.number, err)
			}
			out = append(out, IssueAction{App: a.App, Action: "closed", Number: issue.number, URL: issue.url})
		}
	}
	return out, nil
}

// openIssues returns the open drift issues by application (from the marker
// in their body; the newest issue of an application wins, as GitHub's
// default listing order made it).
func (d *DriftIssues) openIssues(ctx context.Context) (map[string]driftIssue, error) {
	issues, err := d.t.listOpen(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the drift issues of %s: %w", d.where, err)
	}
	slices.SortStableFunc(issues, func(a, b driftIssue) int { return cmp.Compare(b.number, a.number) })
	out := map[string]driftIssue{}
	for _, is := range issues {
		const prefix = "<!-- pipe-drift app="
		if i := strings.Index(is.body, prefix); i >= 0 {
			rest := is.body[i+len(prefix):]
			if j := strings.Index(rest, " -->"); j >= 0 {
				if _, dup := out[rest[:j]]; !dup {
					out[rest[:j]] = is
				}
			}
		}
	}
	return out, nil
}
