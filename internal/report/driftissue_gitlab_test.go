package report_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/report"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

func TestGitLabDriftIssuesLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name, project, header string
		job                   bool
	}{
		{"path and private token", "acme/deploys", "PRIVATE-TOKEN", false},
		{"id and job token", "77", "JOB-TOKEN", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const token = "glpat-s3cr3t-token"
			fake, srv := fakes.NewGitLab("acme/deploys", 77, token)
			defer srv.Close()
			fake.PerPage = 1 // the listing must follow pagination
			// Issues that are not pipe's, and a closed drift issue, are left alone.
			fake.AddIssue("Bug", "<!-- pipe-drift app=web --> quoted by a person", "opened", "bug")
			fake.AddIssue("Drift: web (old)", "<!-- pipe-drift app=web -->\nold", "closed", report.DriftIssueLabel)
			fake.AddIssue("Drift: db", "<!-- pipe-drift app=db -->\ndb drifted", "opened", report.DriftIssueLabel)

			hc := &http.Client{Transport: headerCheck{t: t, header: tc.header, next: srv.Client().Transport}}
			d, err := report.NewGitLabDriftIssues(hc, srv.URL+"/api/v4/", tc.project, token, tc.job)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			commit := strings.Repeat("c", 40)
			run := func(apps ...drift.AppResult) string {
				t.Helper()
				acts, err := d.Sync(ctx, &drift.Report{Commit: commit, Apps: apps})
				if err != nil {
					t.Fatal(err)
				}
				var s []string
				for _, a := range acts {
					s = append(s, fmt.Sprintf("%s %s #%d", a.App, a.Action, a.Number))
				}
				return strings.Join(s, ", ")
			}
			api := drift.AppResult{App: "api", Status: drift.InSync}
			if got := run(driftedWeb("web:hotfix"), api); got != "web opened #4" {
				t.Fatalf("first run: %s", got)
			}
			is, _ := fake.Issue(4)
			for _, want := range []string{"<!-- pipe-drift app=web -->", "spec.template.spec.containers[name=web].image: git \"web:v1\", live \"web:hotfix\"", "pipe sync web", "`cccccccc`"} {
				if !strings.Contains(is.Description, want) {
					t.Errorf("issue description lacks %q:\n%s", want, is.Description)
				}
			}
			if is.Title != "Drift: web is out of sync with Git" || is.State != "opened" || fmt.Sprint(is.Labels) != "[pipe-drift]" {
				t.Errorf("issue %+v", is)
			}
			acts, err := d.Sync(ctx, &drift.Report{Commit: commit, Apps: []drift.AppResult{driftedWeb("web:hotfix")}})
			if err != nil || len(acts) != 1 || acts[0].Action != "unchanged" || acts[0].URL != "https://gitlab.example/acme/deploys/-/issues/4" {
				t.Fatalf("same drift: %+v, %v", acts, err)
			}
			// Second run with another drift: the same issue, updated in place.
			if got := run(driftedWeb("web:other"), api); got != "web updated #4" {
				t.Fatalf("changed drift: %s", got)
			}
			if is, _ := fake.Issue(4); !strings.Contains(is.Description, "web:other") || strings.Contains(is.Description, "web:hotfix") {
				t.Errorf("description not updated:\n%s", is.Description)
			}
			if n := len(fake.Issues()); n != 4 {
				t.Fatalf("%d issues, want 4", n)
			}
			// A failed check leaves the issue as it is.
			if got := run(drift.AppResult{App: "web", Status: drift.Failed, Error: "boom"}); got != "" {
				t.Fatalf("failed check: %s", got)
			}
			if got := run(drift.AppResult{App: "web", Status: drift.InSync}, drift.AppResult{App: "db", Status: drift.InSync}); got != "web closed #4, db closed #3" {
				t.Fatalf("back in sync: %s", got)
			}
			is, _ = fake.Issue(4)
			notes := fake.IssueNotes(4)
			if is.State != "closed" || len(notes) != 2 || notes[0].System || !strings.Contains(notes[0].Body, "Back in sync with Git at `cccccccc`") || !notes[1].System {
				t.Fatalf("issue not closed with a comment: %+v %+v", is, notes)
			}
			if is, _ := fake.Issue(1); is.State != "opened" || len(fake.IssueNotes(1)) != 0 {
				t.Errorf("someone else's issue touched: %+v", is)
			}
			// Drift again: a new issue.
			if got := run(driftedWeb("web:x")); got != "web opened #5" {
				t.Fatalf("drift again: %s", got)
			}
			reqs := fake.Requests()
			var posts int
			for _, r := range reqs {
				if r.Auth != token {
					t.Fatalf("%s %s: token header %q", r.Method, r.Path, r.Auth)
				}
				if strings.Contains(r.Body, token) || strings.Contains(r.Query, token) {
					t.Fatalf("%s %s: the token is in the request: %s", r.Method, r.Path, r.Body)
				}
				if r.Method != http.MethodGet {
					posts++
				}
				if r.Method == http.MethodGet && !strings.Contains(r.Query, "labels=pipe-drift") || !strings.HasPrefix(r.Path, "/api/v4/projects/"+strings.ReplaceAll(tc.project, "/", "%2F")+"/issues") {
					t.Fatalf("unexpected request %+v", r)
				}
			}
			if posts != 7 { // open, update, note+close twice, open
				t.Errorf("%d writes, want 7", posts)
			}
		})
	}
}

func TestGitLabDriftIssuesErrors(t *testing.T) {
	_, srv := fakes.NewGitLab("acme/deploys", 77, "right")
	defer srv.Close()
	d, err := report.NewGitLabDriftIssues(srv.Client(), srv.URL+"/api/v4", "acme/deploys", "wrong", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Sync(context.Background(), &drift.Report{Apps: []drift.AppResult{driftedWeb("web:x")}})
	if err == nil || !strings.Contains(err.Error(), "list the drift issues of acme/deploys") || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("err = %v", err)
	}
	if _, err := report.NewGitLabDriftIssues(nil, "", "acme/deploys", "t", false); err == nil {
		t.Error("no API URL: no error")
	}
}

// headerCheck fails the test when a request carries the token in another
// header than header.
type headerCheck struct {
	t      *testing.T
	header string
	next   http.RoundTripper
}

func (h headerCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	for _, k := range []string{"PRIVATE-TOKEN", "JOB-TOKEN", "Authorization"} {
		if got := r.Header.Get(k); (got != "") != (k == h.header) {
			h.t.Errorf("%s %s: header %s = %q", r.Method, r.URL, k, got)
		}
	}
	return h.next.RoundTrip(r)
}
