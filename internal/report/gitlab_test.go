package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

func TestGitLabNotesCreateThenUpdate(t *testing.T) {
	ctx := context.Background()
	const token = "glpat-abcdefghijklmnop"
	fake, srv := fakes.NewGitLab("acme/deploys", 77, token)
	defer srv.Close()
	fake.PerPage = 2
	fake.AddNote(3, "added 1 commit", true)
	fake.AddNote(3, "please rebase", false)
	fake.AddNote(3, "changed the description", true)
	c, err := NewGitLab(srv.Client(), srv.URL+"/api/v4", "acme/deploys", 3, token, false)
	if err != nil {
		t.Fatal(err)
	}
	glCtx := ci.Context{Provider: ci.GitLab, Repository: "acme/deploys", ServerURL: srv.URL, RunURL: srv.URL + "/acme/deploys/-/jobs/9"}
	r := &PlanReport{CI: glCtx, Plans: []*plan.Plan{quickPlan()}}
	red := NewRedactor(token)
	res, err := PostPlan(ctx, c, r, red, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || !strings.Contains(res.URL, "/acme/deploys/-/merge_requests/3#note_") {
		t.Fatalf("first run %+v", res)
	}
	notes := fake.Notes(3)
	id := notes[3].ID
	r.Plans = []*plan.Plan{pipelinePlan(t)}
	if res, err = PostPlan(ctx, c, r, red, false); err != nil || res.Updated != 1 || res.Created != 0 {
		t.Fatalf("second run %+v %v", res, err)
	}
	notes = fake.Notes(3)
	if len(notes) != 4 || notes[3].ID != id || !strings.Contains(notes[3].Body, "K8S_CANARY_ROLLOUT") ||
		!strings.Contains(notes[3].Body, "/-/commit/2222222") {
		t.Fatalf("notes %+v", notes)
	}
	// The project is also addressed by id; a too-long note is refused and
	// the plan is cut smaller.
	fake.BodyLimit = 40000
	c2, _ := NewGitLab(srv.Client(), srv.URL+"/api/v4", "77", 4, token, true)
	if _, err := PostPlan(ctx, c2, &PlanReport{CI: glCtx, Plans: []*plan.Plan{hugePlan(token)}}, red, false); err != nil {
		t.Fatal(err)
	}
	for _, n := range fake.Notes(4) {
		if len([]rune(n.Body)) > 40000 {
			t.Errorf("a note of %d characters", len(n.Body))
		}
		checkBalanced(t, "note", n.Body)
	}
	var pages, jobAuth int
	for _, q := range fake.Requests() {
		if strings.Contains(q.Body, token) {
			t.Errorf("%s %s carries the token", q.Method, q.Path)
		}
		if q.Method == "GET" && strings.Contains(q.Query, "page=2") {
			pages++
		}
		if strings.Contains(q.Path, "/projects/acme%2Fdeploys/") == false && strings.Contains(q.Path, "/projects/77/") == false {
			t.Errorf("path %s", q.Path)
		}
		if q.Auth == token {
			jobAuth++
		}
	}
	if pages == 0 {
		t.Error("pagination was not followed")
	}
	// A bad token is a readable error.
	c3, _ := NewGitLab(srv.Client(), srv.URL+"/api/v4", "acme/deploys", 3, "nope", false)
	if _, err := c3.List(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("error %v", err)
	}
}

func TestCIFiles(t *testing.T) {
	dir := t.TempDir()
	r := &PlanReport{Plans: []*plan.Plan{pipelinePlan(t), quickPlan(), unchangedPlan()}, Errors: []AppError{{App: "db", Error: "x"}}}
	outs := PlanOutputs(r)
	out := filepath.Join(dir, "output")
	if err := os.WriteFile(out, []byte("earlier=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteGitHubOutputs(out, append(outs, Output{"multi", "a\nb"})); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	want := "earlier=1\nhas_changes=true\napps=[\"web\",\"api\"]\nstrategies={\"api\":\"QUICK_SYNC\",\"web\":\"PIPELINE\"}\nerrors=[\"db\"]\nmulti<<pipe_EOF_"
	if !strings.HasPrefix(string(got), want) || !strings.Contains(string(got), "\na\nb\npipe_EOF_") {
		t.Errorf("outputs:\n%s", got)
	}
	env := filepath.Join(dir, "pipe.env")
	if err := WriteDotenv(env, outs); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(env)
	if !strings.HasPrefix(string(got), "PIPE_HAS_CHANGES=true\nPIPE_APPS=[\"web\",\"api\"]\n") {
		t.Errorf("dotenv:\n%s", got)
	}

	// The job summary stays within 1 MiB, whatever was written before.
	sum := filepath.Join(dir, "summary")
	if err := os.WriteFile(sum, []byte(strings.Repeat("x", StepSummaryLimit-50000)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := &PlanReport{CI: ghCtx, Plans: []*plan.Plan{hugePlan("")}}
	if err := AppendStepSummary(sum, PlanSummary(big, StepSummaryRoom(sum))); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(sum)
	if st.Size() > StepSummaryLimit {
		t.Errorf("job summary is %d bytes", st.Size())
	}
	data, _ := os.ReadFile(sum)
	tail := string(data[StepSummaryLimit-50000:])
	checkBalanced(t, "summary", tail)
	if !strings.Contains(tail, "not shown here") {
		t.Error("the cut summary does not say so")
	}
	if StepSummaryRoom(filepath.Join(dir, "none")) != StepSummaryLimit-1 {
		t.Error("room of a new summary")
	}
}

func TestRedactor(t *testing.T) {
	r := NewRedactor("", "abc", "secret-value-1", "secret-value-1-longer")
	if got := r.Redact("a secret-value-1-longer and secret-value-1 abc"); got != "a *** and *** abc" {
		t.Errorf("got %q", got)
	}
	var none *Redactor
	if none.Redact("x") != "x" {
		t.Error("nil redactor")
	}
}

// The note link of a merge request comment: under CI_PROJECT_URL when
// given (the project addressed by its numeric id or its path alike), else
// under the API's server and the project's path; a numeric id alone gives
// no link rather than a broken one.
func TestGitLabNoteLinks(t *testing.T) {
	ctx := context.Background()
	const token = "glpat-links0123456789"
	fake, srv := fakes.NewGitLab("acme/deploys", 77, token)
	defer srv.Close()
	api := srv.URL + "/api/v4"
	for _, tc := range []struct {
		name, project, projectURL, want string
	}{
		{"id and project URL", "77", "https://gitlab.example/acme/deploys", "https://gitlab.example/acme/deploys/-/merge_requests/5#note_"},
		{"path and project URL", "acme/deploys", "https://gitlab.example/acme/deploys/", "https://gitlab.example/acme/deploys/-/merge_requests/5#note_"},
		{"path only", "acme/deploys", "", srv.URL + "/acme/deploys/-/merge_requests/5#note_"},
		{"id only", "77", "", ""},
		{"unusable project URL", "77", "javascript:alert(1)", ""},
		{"project URL with credentials", "acme/deploys", "https://user:" + token + "@gitlab.example/acme/deploys", srv.URL + "/acme/deploys/-/merge_requests/5#note_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewGitLab(srv.Client(), api, tc.project, 5, token, false)
			if err != nil {
				t.Fatal(err)
			}
			if tc.projectURL != "" {
				c = c.WithProjectURL(tc.projectURL)
			}
			created, err := c.Create(ctx, "hello")
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want != "" {
				want += fmt.Sprint(created.ID)
			}
			if created.URL != want {
				t.Errorf("created note link %q, want %q", created.URL, want)
			}
			updated, err := c.Update(ctx, created.ID, "hello again")
			if err != nil || updated.URL != want {
				t.Errorf("updated note link %q (%v), want %q", updated.URL, err, want)
			}
			notes, err := c.List(ctx)
			if err != nil || len(notes) == 0 || notes[len(notes)-1].URL != want {
				t.Errorf("listed notes %+v (%v), want the link %q", notes, err, want)
			}
			// Another merge request of the same project keeps the page.
			if other := c.ForMergeRequest(6).webURL(1); want != "" && other != strings.Replace(tc.want, "/5#", "/6#", 1)+"1" {
				t.Errorf("merge request 6: %q", other)
			}
		})
	}
	if n := len(fake.Notes(5)); n != 6 {
		t.Errorf("%d notes on !5", n)
	}
}
