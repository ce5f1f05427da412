package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/report"
)

// fakeIssues speaks the GitHub REST issues API for one repository.
type fakeIssues struct {
	mu     sync.Mutex
	issues map[int]map[string]any
	calls  []string
	auth   []string
}

func (f *fakeIssues) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	var in map[string]any
	_ = json.NewDecoder(r.Body).Decode(&in)
	reply := func(v any) { w.Header().Set("Content-Type", "application/json"); _ = json.NewEncoder(w).Encode(v) }
	var n int
	switch {
	case r.Method == "GET" && r.URL.Path == "/repos/acme/deploys/issues":
		if r.URL.Query().Get("labels") != report.DriftIssueLabel || r.URL.Query().Get("state") != "open" {
			http.Error(w, "unexpected query "+r.URL.RawQuery, 400)
			return
		}
		out := []map[string]any{}
		for i := 1; i <= len(f.issues); i++ {
			if is := f.issues[i]; is["state"] == "open" {
				out = append(out, is)
			}
		}
		reply(out)
	case r.Method == "POST" && r.URL.Path == "/repos/acme/deploys/issues":
		n = len(f.issues) + 1
		in["number"], in["state"], in["html_url"] = n, "open", fmt.Sprintf("https://github.example/acme/deploys/issues/%d", n)
		var labels []map[string]any
		for _, l := range in["labels"].([]any) {
			labels = append(labels, map[string]any{"name": l})
		}
		in["labels"] = labels
		f.issues[n] = in
		w.WriteHeader(201)
		reply(in)
	case r.Method == "PATCH" && sscan(r.URL.Path, "/repos/acme/deploys/issues/%d", &n):
		for k, v := range in {
			f.issues[n][k] = v
		}
		reply(f.issues[n])
	case r.Method == "POST" && sscan(r.URL.Path, "/repos/acme/deploys/issues/%d/comments", &n):
		f.issues[n]["comments_text"] = in["body"]
		w.WriteHeader(201)
		reply(map[string]any{"id": 1, "body": in["body"]})
	default:
		http.Error(w, "not found", 404)
	}
}

func sscan(s, format string, n *int) bool {
	_, err := fmt.Sscanf(s, format, n)
	return err == nil && fmt.Sprintf(format, *n) == s
}

func driftedWeb(image string) drift.AppResult {
	return drift.AppResult{App: "web", Status: drift.OutOfSync, Changed: 1, Drift: []drift.ObjectDrift{{
		Key: "apps:Deployment:prod:web", Object: "Deployment prod/web", Action: drift.ActionChanged,
		Fields: []drift.FieldDiff{{Path: "spec.template.spec.containers[name=web].image", Op: drift.FieldChanged,
			Git: "web:v1", Live: image, Managers: []string{"kubectl-set"}}},
	}}}
}

func TestDriftIssuesLifecycle(t *testing.T) {
	f := &fakeIssues{issues: map[int]map[string]any{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	d, err := report.NewDriftIssues(srv.Client(), srv.URL, "acme/deploys", "s3cr3t-token")
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
	if got := run(driftedWeb("web:hotfix"), api); got != "web opened #1" {
		t.Fatalf("first run: %s", got)
	}
	body := f.issues[1]["body"].(string)
	for _, want := range []string{"<!-- pipe-drift app=web -->", "spec.template.spec.containers[name=web].image: git \"web:v1\", live \"web:hotfix\"", "pipe sync web", "`cccccccc`"} {
		if !strings.Contains(body, want) {
			t.Errorf("issue body lacks %q:\n%s", want, body)
		}
	}
	if labels := fmt.Sprint(f.issues[1]["labels"]); labels != "[map[name:pipe-drift]]" {
		t.Errorf("labels %s", labels)
	}
	if got := run(driftedWeb("web:hotfix"), api); got != "web unchanged #1" {
		t.Fatalf("same drift: %s", got)
	}
	if got := run(driftedWeb("web:other"), api); got != "web updated #1" {
		t.Fatalf("changed drift: %s", got)
	}
	if !strings.Contains(f.issues[1]["body"].(string), "web:other") {
		t.Error("body not updated")
	}
	// A failed check leaves the issue as it is.
	if got := run(drift.AppResult{App: "web", Status: drift.Failed, Error: "boom"}); got != "" {
		t.Fatalf("failed check: %s", got)
	}
	if got := run(drift.AppResult{App: "web", Status: drift.InSync}); got != "web closed #1" {
		t.Fatalf("back in sync: %s", got)
	}
	if f.issues[1]["state"] != "closed" || !strings.Contains(fmt.Sprint(f.issues[1]["comments_text"]), "Back in sync with Git at `cccccccc`") {
		t.Fatalf("issue not closed with a comment: %v", f.issues[1])
	}
	// Drift again: a new issue.
	if got := run(driftedWeb("web:x")); got != "web opened #2" {
		t.Fatalf("drift again: %s", got)
	}
	for _, a := range f.auth {
		if a != "Bearer s3cr3t-token" {
			t.Fatalf("authorization header %q", a)
		}
	}
}

func TestDriftMarkdown(t *testing.T) {
	rep := &drift.Report{Commit: strings.Repeat("a", 40), Apps: []drift.AppResult{
		driftedWeb("web:hotfix"),
		{App: "api", Status: drift.InSync},
		{App: "db", Status: drift.Failed, Error: "list | forbidden"},
	}}
	md := report.DriftMarkdown(rep, 0)
	for _, want := range []string{"## Drift", "1 in sync, **1 out of sync**, 1 failed", "| web | :warning: out of sync | 1 changed |",
		`| db | :x: check failed | list \| forbidden |`, "<details><summary><b>web</b>: 1 changed</summary>", "[set by kubectl-set]", "pipe sync web"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "api") {
		t.Errorf("apps in sync are counted, not listed:\n%s", md)
	}
	ok := report.DriftMarkdown(&drift.Report{Apps: []drift.AppResult{{App: "api", Status: drift.InSync}}}, 0)
	if !strings.Contains(ok, "All 1 applications are in sync") {
		t.Errorf("in sync: %s", ok)
	}
	// Cut to the limit with a note.
	var many []drift.AppResult
	for i := 0; i < 200; i++ {
		a := driftedWeb(strings.Repeat("x", 90))
		a.App = fmt.Sprintf("app-%d", i)
		many = append(many, a)
	}
	small := report.DriftMarkdown(&drift.Report{Apps: many}, 8000)
	if len(small) > 8000+200 || !strings.Contains(small, "cut to fit the job summary") {
		t.Errorf("not cut (%d bytes)", len(small))
	}
}
