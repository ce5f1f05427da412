package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/report"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

const hookToken = "ghs_hookT0ken_abcdefghij"

func hookRecord() *state.Record {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return &state.Record{SchemaVersion: 1, ID: "01J00000000000000000000SYNC", App: "web", Kind: "KubernetesApp",
		Target:   state.Commit{Hash: "4444444444444444444444444444444444444444"},
		Strategy: state.StrategyQuickSync, StrategyReason: "Quick sync because of " + hookToken,
		Stages: []state.Stage{{ID: "K8sSync", Name: "K8S_SYNC", Status: state.StageSucceeded, StartedAt: t0, EndedAt: t0.Add(3 * time.Second)}},
		Status: state.StatusSucceeded, CreatedAt: t0, StartedAt: t0, EndedAt: t0.Add(4 * time.Second), UpdatedAt: t0.Add(4 * time.Second)}
}

func hookApp(t *testing.T, c ci.Context, env map[string]string) (*app, *bytes.Buffer) {
	t.Helper()
	var stderr bytes.Buffer
	a := &app{
		env: Env{Getenv: func(k string) string { return env[k] }, Now: func() time.Time { return time.Date(2026, 5, 1, 13, 0, 0, 0, time.UTC) }},
		out: &bytes.Buffer{}, err: &stderr, ci: c, repoDir: t.TempDir(),
	}
	return a, &stderr
}

func TestReportSyncResultGitHub(t *testing.T) {
	fake, srv := fakes.NewGitHub(hookToken)
	defer srv.Close()
	dir := t.TempDir()
	rec := hookRecord()
	fake.SetPullsOfCommit(rec.Target.Hash, 21)
	c := ci.Context{Provider: ci.GitHub, Repository: "acme/deploys", SHA: rec.Target.Hash, APIURL: srv.URL, ServerURL: "https://github.example",
		RunURL: "https://github.example/acme/deploys/actions/runs/5", StepSummaryPath: filepath.Join(dir, "summary"), OutputPath: filepath.Join(dir, "output")}
	a, stderr := hookApp(t, c, map[string]string{"GITHUB_TOKEN": hookToken})
	if err := a.reportSyncResult(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	cs := fake.Comments(21)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "✅ pipe sync web: SUCCEEDED") || strings.Contains(cs[0].Body, hookToken) {
		t.Fatalf("comments %+v", cs)
	}
	if deps := fake.Deployments(); len(deps) != 1 || deps[0].Environment != "web" || deps[0].Statuses[0] != "success: web succeeded (QUICK_SYNC)" {
		t.Errorf("deployments %+v", deps)
	}
	if st := fake.Statuses(rec.Target.Hash); len(st) != 1 || !strings.HasPrefix(st[0], "pipe/sync/web=success") {
		t.Errorf("statuses %v", st)
	}
	out, _ := os.ReadFile(c.OutputPath)
	if !strings.Contains(string(out), "status=SUCCEEDED\nrecord_id=01J00000000000000000000SYNC\ndeployment_id=") {
		t.Errorf("outputs:\n%s", out)
	}
	sum, _ := os.ReadFile(c.StepSummaryPath)
	if !strings.HasPrefix(string(sum), "### ✅ pipe sync web") || strings.Contains(string(sum), hookToken) {
		t.Errorf("summary:\n%s", sum)
	}
	if !strings.Contains(stderr.String(), "result posted: ") {
		t.Errorf("stderr: %s", stderr)
	}
	// PIPE_SYNC_REPORT narrows what is posted; none posts nothing.
	a2, _ := hookApp(t, c, map[string]string{"GITHUB_TOKEN": hookToken, "PIPE_SYNC_REPORT": "status"})
	if err := a2.reportSyncResult(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if len(fake.Deployments()) != 1 || len(fake.Statuses(rec.Target.Hash)) != 2 {
		t.Error("PIPE_SYNC_REPORT=status posted more than a status")
	}
	for _, r := range fake.Requests() {
		if strings.Contains(r.Body, hookToken) {
			t.Errorf("%s %s carries the token", r.Method, r.Path)
		}
	}
	// A failing API is an error for a warning, with no token in it.
	a3, _ := hookApp(t, c, map[string]string{"GITHUB_TOKEN": "ghs_wrong_token_value_x"})
	err := a3.reportSyncResult(context.Background(), rec)
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "ghs_wrong_token_value_x") {
		t.Errorf("error %v", err)
	}
	// Outside CI, and without a record, nothing happens.
	a4, _ := hookApp(t, ci.Context{}, nil)
	if a4.reportSyncResult(context.Background(), rec) != nil || a.reportSyncResult(context.Background(), nil) != nil {
		t.Error("reported outside CI")
	}
}

func TestReportPlanGitLab(t *testing.T) {
	const token = "glpat-0123456789abcdef"
	fake, srv := fakes.NewGitLab("acme/deploys", 31, token)
	defer srv.Close()
	dir := t.TempDir()
	c := ci.Context{Provider: ci.GitLab, Repository: "acme/deploys", PullRequest: 4, APIURL: srv.URL + "/api/v4", ServerURL: srv.URL,
		RunURL: srv.URL + "/acme/deploys/-/jobs/1"}
	a, stderr := hookApp(t, c, map[string]string{"CI_JOB_TOKEN": token, "CI_PROJECT_ID": "31"})
	p := &plan.Plan{SchemaVersion: 1, App: plan.App{Name: "web", Kind: "KubernetesApp"}, Strategy: plan.StrategyQuickSync,
		Reason: "Quick sync", Head: plan.Commit{Hash: "5555555555555555555555555555555555555555"},
		Changes: []plan.Change{{Key: ":ConfigMap:default:web", Action: plan.ActionAdd, Language: "diff", Diff: "+a: " + token + "\n"}},
		Summary: plan.Summary{Added: 1, Deleted: 1}}
	env := filepath.Join(dir, "pipe.env")
	o := ciReportOptions{comment: true, labels: true, dotenv: env}
	for range 2 {
		if err := a.reportPlan(context.Background(), o, planFile{SchemaVersion: 1, Plans: []*plan.Plan{p}}); err != nil {
			t.Fatal(err)
		}
	}
	notes := fake.Notes(4)
	if len(notes) != 1 || !strings.Contains(notes[0].Body, "+a: ***") || !strings.Contains(notes[0].Body, "/-/commit/5555555") {
		t.Fatalf("notes %+v", notes)
	}
	if !strings.Contains(stderr.String(), "plan comment on !4 (1 created") || !strings.Contains(stderr.String(), "plan comment on !4 is up to date") {
		t.Errorf("stderr: %s", stderr)
	}
	if got := fake.Labels(4); strings.Join(got, ",") != "pipe:destroy" {
		t.Errorf("labels %v", got)
	}
	data, _ := os.ReadFile(env)
	if string(data) != "PIPE_HAS_CHANGES=true\nPIPE_APPS=[\"web\"]\nPIPE_STRATEGIES={\"web\":\"QUICK_SYNC\"}\nPIPE_ERRORS=[]\n" {
		t.Errorf("dotenv:\n%s", data)
	}
	// --comment outside CI is a usage error.
	a2, _ := hookApp(t, ci.Context{}, nil)
	err := a2.reportPlan(context.Background(), ciReportOptions{comment: true}, planFile{})
	if e := toError(err); e.Code != ExitUsage || !strings.Contains(e.Summary, "need GitHub Actions or GitLab CI") {
		t.Errorf("error %+v", e)
	}
}

func TestReportSyncResultGitLab(t *testing.T) {
	const token = "glpat-syncsync0123456"
	fake, srv := fakes.NewGitLab("acme/deploys", 31, token)
	defer srv.Close()
	rec := hookRecord()
	fake.SetMergeRequestsOfCommit(rec.Target.Hash, 6)
	dir := t.TempDir()
	c := ci.Context{Provider: ci.GitLab, Repository: "acme/deploys", SHA: rec.Target.Hash, APIURL: srv.URL + "/api/v4", ServerURL: srv.URL}
	env := filepath.Join(dir, "pipe.env")
	a, _ := hookApp(t, c, map[string]string{"GITLAB_TOKEN": token, "PIPE_DOTENV": env})
	for range 2 {
		if err := a.reportSyncResult(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	notes := fake.Notes(6)
	if len(notes) != 1 || !strings.Contains(notes[0].Body, "pipe sync web: SUCCEEDED") {
		t.Fatalf("notes %+v", notes)
	}
	data, _ := os.ReadFile(env)
	if string(data) != "PIPE_STATUS=SUCCEEDED\nPIPE_RECORD_ID=01J00000000000000000000SYNC\n" {
		t.Errorf("dotenv %q", data)
	}
}

func TestFoldSections(t *testing.T) {
	for _, tc := range []struct {
		p    ci.Provider
		want string
	}{
		{ci.GitHub, "::group::web: PIPELINE\nbody\n::endgroup::\n"},
		{ci.GitLab, "\x1b[0Ksection_start:1777640400:pipe_plan_0[collapsed=true]\r\x1b[0Kweb: PIPELINE\nbody\n\x1b[0Ksection_end:1777640400:pipe_plan_0\r\x1b[0K\n"},
		{ci.None, "body\n"},
	} {
		a, _ := hookApp(t, ci.Context{Provider: tc.p}, nil)
		var out bytes.Buffer
		a.out = &out
		end := a.foldStart("plan-0", "web: PIPELINE")
		out.WriteString("body\n")
		end()
		if out.String() != tc.want {
			t.Errorf("%s: %q", tc.p, out.String())
		}
	}
}

func TestStatusCommit(t *testing.T) {
	r := &report.PlanReport{Plans: []*plan.Plan{{Head: plan.Commit{Hash: "head"}}}}
	for _, tc := range []struct{ event, sha, want string }{
		{"pull_request", "prhead", "prhead"},
		{"issue_comment", "mainsha", "head"},
		{"push", "pushed", "head"},
	} {
		a, _ := hookApp(t, ci.Context{Provider: ci.GitHub, EventName: tc.event, SHA: tc.sha}, nil)
		if got := a.statusCommit(r); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.event, got, tc.want)
		}
	}
	a, _ := hookApp(t, ci.Context{Provider: ci.GitHub, EventName: "push", SHA: "pushed"}, nil)
	if got := a.statusCommit(&report.PlanReport{}); got != "pushed" {
		t.Errorf("no plans: %s", got)
	}
}
