package report

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/gitops-pipe/pipe/internal/drift"
)

// DriftIssueLabel marks the issues pipe drift keeps.
const DriftIssueLabel = "pipe-drift"

// DriftIssues keeps one GitHub issue per drifted application: opened when
// drift is found, its body updated while the drift changes, closed with a
// comment when the application is back in sync.
type DriftIssues struct {
	client      *github.Client
	owner, repo string
}

// NewDriftIssues returns the issue keeper of repository "owner/name" at
// apiURL ("" means https://api.github.com).
func NewDriftIssues(httpClient *http.Client, apiURL, repository, token string) (*DriftIssues, error) {
	owner, name, ok := strings.Cut(repository, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("repository %q is not owner/name", repository)
	}
	if apiURL == "" {
		apiURL = "https://api.github.com"
	}
	u, err := url.Parse(strings.TrimRight(apiURL, "/") + "/")
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("invalid GitHub API URL %q", apiURL)
	}
	c := github.NewClient(httpClient)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	c.BaseURL, c.UploadURL, c.UserAgent = u, u, "pipe"
	return &DriftIssues{client: c, owner: owner, repo: name}, nil
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
		issue := open[a.App]
		switch {
		case a.Status == drift.OutOfSync && issue == nil:
			title := "Drift: " + a.App + " is out of sync with Git"
			body := DriftIssueBody(a, r.Commit)
			labels := []string{DriftIssueLabel}
			got, _, err := d.client.Issues.Create(ctx, d.owner, d.repo, &github.IssueRequest{Title: &title, Body: &body, Labels: &labels})
			if err != nil {
				return out, fmt.Errorf("open the drift issue of %s: %w", a.App, err)
			}
			out = append(out, IssueAction{App: a.App, Action: "opened", Number: got.GetNumber(), URL: got.GetHTMLURL()})
		case a.Status == drift.OutOfSync:
			body := DriftIssueBody(a, r.Commit)
			if issue.GetBody() == body {
				out = append(out, IssueAction{App: a.App, Action: "unchanged", Number: issue.GetNumber(), URL: issue.GetHTMLURL()})
				continue
			}
			if _, _, err := d.client.Issues.Edit(ctx, d.owner, d.repo, issue.GetNumber(), &github.IssueRequest{Body: &body}); err != nil {
				return out, fmt.Errorf("update the drift issue of %s (#%d): %w", a.App, issue.GetNumber(), err)
			}
			out = append(out, IssueAction{App: a.App, Action: "updated", Number: issue.GetNumber(), URL: issue.GetHTMLURL()})
		case a.Status == drift.InSync && issue != nil:
			msg := "Back in sync with Git"
			if r.Commit != "" {
				msg += " at " + driftCode(driftShort(r.Commit))
			}
			msg += ": closing."
			if _, _, err := d.client.Issues.CreateComment(ctx, d.owner, d.repo, issue.GetNumber(), &github.IssueComment{Body: &msg}); err != nil {
				return out, fmt.Errorf("comment on the drift issue of %s (#%d): %w", a.App, issue.GetNumber(), err)
			}
			closed, reason := "closed", "completed"
			if _, _, err := d.client.Issues.Edit(ctx, d.owner, d.repo, issue.GetNumber(), &github.IssueRequest{State: &closed, StateReason: &reason}); err != nil {
				return out, fmt.Errorf("close the drift issue of %s (#%d): %w", a.App, issue.GetNumber(), err)
			}
			out = append(out, IssueAction{App: a.App, Action: "closed", Number: issue.GetNumber(), URL: issue.GetHTMLURL()})
		}
	}
	return out, nil
}

// openIssues returns the open drift issues by application (from the marker
// in their body).
func (d *DriftIssues) openIssues(ctx context.Context) (map[string]*github.Issue, error) {
	out := map[string]*github.Issue{}
	opts := &github.IssueListByRepoOptions{State: "open", Labels: []string{DriftIssueLabel}, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		issues, resp, err := d.client.Issues.ListByRepo(ctx, d.owner, d.repo, opts)
		if err != nil {
			return nil, fmt.Errorf("list the drift issues of %s/%s: %w", d.owner, d.repo, err)
		}
		for _, is := range issues {
			if is.IsPullRequest() {
				continue
			}
			body := is.GetBody()
			const prefix = "<!-- pipe-drift app="
			if i := strings.Index(body, prefix); i >= 0 {
				rest := body[i+len(prefix):]
				if j := strings.Index(rest, " -->"); j >= 0 {
					if _, dup := out[rest[:j]]; !dup {
						out[rest[:j]] = is
					}
				}
			}
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
