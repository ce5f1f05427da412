package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

func driftTestApp(c ci.Context, env map[string]string) *app {
	return &app{
		env: Env{Getenv: func(k string) string { return env[k] }, Now: func() time.Time { return time.Unix(0, 0) }},
		out: &bytes.Buffer{}, err: &bytes.Buffer{}, ci: c,
	}
}

func TestDriftUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		ci   ci.Context
		env  map[string]string
		want string
	}{
		{[]string{"--shard", "3/2"}, ci.Context{}, nil, "invalid shard"},
		{[]string{"--shard", "x"}, ci.Context{}, nil, "invalid shard"},
		{[]string{"-o", "yaml"}, ci.Context{}, nil, "unsupported output format"},
		{[]string{"--parallel", "-1"}, ci.Context{}, nil, "--parallel"},
		{[]string{"--issue"}, ci.Context{}, nil, "--issue needs GITHUB_TOKEN"},
		{[]string{"--issue"}, ci.Context{Provider: ci.GitHub}, map[string]string{"GITHUB_TOKEN": "t"}, "GITHUB_REPOSITORY"},
		{[]string{"--issue"}, ci.Context{Provider: ci.GitLab}, nil, "needs GITLAB_TOKEN"},
		{[]string{"--issue"}, ci.Context{Provider: ci.GitLab, Repository: "acme/deploys"}, map[string]string{"GITLAB_TOKEN": "t"}, "CI_API_V4_URL"},
		{[]string{"--issue"}, ci.Context{Provider: ci.GitLab, APIURL: "https://gitlab.example/api/v4"}, map[string]string{"CI_JOB_TOKEN": "t"}, "CI_PROJECT_PATH"},
		{[]string{"--issue"}, ci.Context{}, map[string]string{"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "nope"}, "not owner/name"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			a := driftTestApp(tc.ci, tc.env)
			cmd := a.driftCommand()
			cmd.SetArgs(tc.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.ExecuteContext(context.Background())
			var e *Error
			if !errors.As(err, &e) || e.Code != ExitUsage || !strings.Contains(e.Summary, tc.want) {
				t.Fatalf("err = %v, want a usage error (exit 2) with %q", err, tc.want)
			}
		})
	}
}

func TestDriftIssuesFromCIContext(t *testing.T) {
	a := driftTestApp(ci.Context{Provider: ci.GitHub, Repository: "acme/deploys", APIURL: "https://ghe.example/api/v3"},
		map[string]string{"GITHUB_TOKEN": "t"})
	if d, err := a.driftIssues(); err != nil || d == nil {
		t.Fatalf("driftIssues: %v", err)
	}
}

func TestDriftIssuesGitLabCI(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		token string
	}{
		{"project token by path", map[string]string{"GITLAB_TOKEN": "glpat-secret", "CI_JOB_TOKEN": "job-secret"}, "glpat-secret"},
		{"job token by id", map[string]string{"CI_JOB_TOKEN": "job-secret", "CI_PROJECT_ID": "77"}, "job-secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv := fakes.NewGitLab("acme/deploys", 77, tc.token)
			defer srv.Close()
			a := driftTestApp(ci.Context{Provider: ci.GitLab, Repository: "acme/deploys", APIURL: srv.URL + "/api/v4"}, tc.env)
			d, err := a.driftIssues()
			if err != nil {
				t.Fatalf("driftIssues: %v", err)
			}
			ctx := context.Background()
			web := func(live string) drift.AppResult {
				return drift.AppResult{App: "web", Status: drift.OutOfSync, Changed: 1, Drift: []drift.ObjectDrift{{
					Key: "apps:Deployment:prod:web", Object: "Deployment prod/web", Action: drift.ActionChanged,
					Fields: []drift.FieldDiff{{Path: "spec.replicas", Op: drift.FieldChanged, Git: "2", Live: live}},
				}}}
			}
			for i, want := range []string{"opened", "updated", "closed"} {
				app := web(string(rune('3' + i)))
				if want == "closed" {
					app = drift.AppResult{App: "web", Status: drift.InSync}
				}
				acts, err := d.Sync(ctx, &drift.Report{Commit: strings.Repeat("a", 40), Apps: []drift.AppResult{app}})
				if err != nil || len(acts) != 1 || acts[0].Action != want || acts[0].Number != 1 {
					t.Fatalf("run %d: %+v, %v; want %s #1", i+1, acts, err, want)
				}
			}
			is, _ := fake.Issue(1)
			if is.State != "closed" || len(fake.Issues()) != 1 {
				t.Fatalf("issues %+v", fake.Issues())
			}
			if notes := fake.IssueNotes(1); len(notes) == 0 || !strings.Contains(notes[0].Body, "Back in sync with Git") {
				t.Fatalf("no closing comment: %+v", notes)
			}
			for _, r := range fake.Requests() {
				if r.Auth != tc.token || strings.Contains(r.Body, "secret") {
					t.Fatalf("request %+v", r)
				}
			}
		})
	}
}
