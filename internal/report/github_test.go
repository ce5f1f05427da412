package report

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

const testToken = "ghs_s3cr3tT0kenValue1234567890"

func newFakeGitHub(t *testing.T, prefix string) (*fakes.GitHub, *GitHub) {
	t.Helper()
	fake, srv := fakes.NewGitHub(testToken)
	t.Cleanup(srv.Close)
	gh, err := NewGitHub(srv.Client(), srv.URL+prefix, "acme/deploys", testToken)
	if err != nil {
		t.Fatal(err)
	}
	return fake, gh
}

// noSecretSent fails when a request body carries the token.
func noSecretSent(t *testing.T, reqs []fakes.Request, secrets ...string) {
	t.Helper()
	for _, r := range reqs {
		for _, s := range secrets {
			if strings.Contains(r.Body, s) || strings.Contains(r.Path, s) || strings.Contains(r.Query, s) {
				t.Errorf("%s %s carries a secret", r.Method, r.Path)
			}
		}
	}
}

func TestGitHubPlanCommentCreateThenUpdate(t *testing.T) {
	ctx := context.Background()
	fake, gh := newFakeGitHub(t, "")
	fake.PerPage = 2 // pipe's comment is found on page 3
	for i := range 5 {
		fake.AddComment(7, "alice", "LGTM "+string(rune('a'+i)))
	}
	red := NewRedactor(testToken)
	r := &PlanReport{CI: ghCtx, Plans: []*plan.Plan{quickPlan()}}
	res, err := PostPlan(ctx, gh.PR(7), r, red, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || res.Updated != 0 || res.URL == "" {
		t.Fatalf("first run: %+v", res)
	}
	first := fake.Comments(7)
	if len(first) != 6 {
		t.Fatalf("%d comments after the first run, want 6", len(first))
	}
	id := first[5].ID

	// The second run updates the same comment in place.
	r.Plans = []*plan.Plan{pipelinePlan(t)}
	res, err = PostPlan(ctx, gh.PR(7), r, red, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 0 || res.Updated != 1 {
		t.Fatalf("second run: %+v", res)
	}
	after := fake.Comments(7)
	if len(after) != 6 || after[5].ID != id || after[5].Edited != 1 {
		t.Fatalf("the comment was not updated in place: %+v", after[5])
	}
	if !strings.Contains(after[5].Body, "K8S_CANARY_ROLLOUT") || strings.Contains(after[5].Body, ":ConfigMap:default:api") {
		t.Error("the updated comment does not hold the new plan only")
	}
	for _, c := range after[:5] {
		if !strings.HasPrefix(c.Body, "LGTM") {
			t.Errorf("someone else's comment changed: %q", c.Body)
		}
	}
	// Pagination was followed with GitHub's Link header.
	var pages []string
	for _, q := range fake.Requests() {
		if q.Method == http.MethodGet {
			pages = append(pages, q.Query)
		}
	}
	if len(pages) != 6 {
		t.Errorf("listing requests %q, want 3 pages per run", pages)
	}
	// A third run with the same plan changes nothing.
	res, err = PostPlan(ctx, gh.PR(7), r, red, false)
	if err != nil || res.Created+res.Updated+res.Deleted != 0 {
		t.Errorf("an unchanged plan: %+v, %v", res, err)
	}
	for _, q := range fake.Requests() {
		if q.Auth != "Bearer "+testToken {
			t.Errorf("%s %s: Authorization %q", q.Method, q.Path, q.Auth)
		}
	}
	noSecretSent(t, fake.Requests(), testToken)
}

func TestGitHubContinuationCommentsAndSecrets(t *testing.T) {
	ctx := context.Background()
	fake, gh := newFakeGitHub(t, "/api/v3") // GitHub Enterprise Server paths
	red := NewRedactor(testToken)
	r := &PlanReport{CI: ghCtx, Plans: []*plan.Plan{hugePlan(testToken)}}
	res, err := PostPlan(ctx, gh.PR(9), r, red, false)
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.Comments(9)
	if len(cs) < 2 || res.Created != len(cs) {
		t.Fatalf("%d comments (%+v), want continuation comments", len(cs), res)
	}
	for i, c := range cs {
		if !strings.HasPrefix(c.Body, PlanMarker("", i+1)+"\n") {
			t.Errorf("comment %d starts with %q", i, firstLine(c.Body))
		}
		checkBalanced(t, "comment", c.Body)
	}
	if !strings.Contains(cs[1].Body+cs[2].Body, "leaked: ***") {
		t.Error("the secret in the diff is not masked")
	}
	noSecretSent(t, fake.Requests(), testToken)
	for _, q := range fake.Requests() {
		if !strings.HasPrefix(q.Path, "/repos/acme/deploys/") {
			t.Errorf("request to %s", q.Path)
		}
	}

	// A smaller plan: the first comment is updated, the rest deleted.
	r.Plans = []*plan.Plan{quickPlan()}
	res, err = PostPlan(ctx, gh.PR(9), r, red, false)
	if err != nil {
		t.Fatal(err)
	}
	after := fake.Comments(9)
	if len(after) != 1 || after[0].ID != cs[0].ID || res.Deleted != len(cs)-1 {
		t.Fatalf("after a smaller plan: %d comments, %+v", len(after), res)
	}
}

func TestGitHubBodyTooLongRetriesSmaller(t *testing.T) {
	ctx := context.Background()
	fake, gh := newFakeGitHub(t, "")
	fake.BodyLimit = 30000 // the server counts differently from us
	r := &PlanReport{CI: ghCtx, Plans: []*plan.Plan{hugePlan("")}}
	if _, err := PostPlan(ctx, gh.PR(3), r, nil, false); err != nil {
		t.Fatal(err)
	}
	var refused int
	for _, q := range fake.Requests() {
		if q.Method == http.MethodPost && len(q.Body) > 30000 {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no body was refused; the test does not test the 422")
	}
	for _, c := range fake.Comments(3) {
		if len([]rune(c.Body)) > 30000 {
			t.Errorf("a comment of %d characters was kept", len(c.Body))
		}
		checkBalanced(t, "comment", c.Body)
	}
	// The 422 is recognised as such.
	_, err := gh.PR(3).Create(ctx, strings.Repeat("x", 30001))
	if err == nil || !strings.Contains(err.Error(), "Body is too long") {
		t.Errorf("error %v", err)
	}
}

func TestGitHubTitlesKeepSeparateComments(t *testing.T) {
	ctx := context.Background()
	fake, gh := newFakeGitHub(t, "")
	for _, title := range []string{"staging", "production", "staging"} {
		r := &PlanReport{Title: title, CI: ghCtx, Plans: []*plan.Plan{quickPlan()}}
		if _, err := PostPlan(ctx, gh.PR(4), r, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	cs := fake.Comments(4)
	if len(cs) != 2 || !strings.Contains(cs[0].Body, `title="staging"`) || !strings.Contains(cs[1].Body, `title="production"`) {
		t.Fatalf("comments: %d", len(cs))
	}
}

func TestGitHubSkipNoChanges(t *testing.T) {
	ctx := context.Background()
	fake, gh := newFakeGitHub(t, "")
	quiet := &PlanReport{CI: ghCtx, Plans: []*plan.Plan{unchangedPlan()}}
	res, err := PostPlan(ctx, gh.PR(5), quiet, nil, true)
	if err != nil || res.Created != 0 || len(fake.Comments(5)) != 0 {
		t.Fatalf("a quiet plan with --skip-no-changes posted: %+v %v", res, err)
	}
	// Once a plan was posted, a quiet one replaces it: no stale plan stays.
	if _, err := PostPlan(ctx, gh.PR(5), &PlanReport{CI: ghCtx, Plans: []*plan.Plan{quickPlan()}}, nil, true); err != nil {
		t.Fatal(err)
	}
	if _, err := PostPlan(ctx, gh.PR(5), quiet, nil, true); err != nil {
		t.Fatal(err)
	}
	cs := fake.Comments(5)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "**No changes.**") {
		t.Fatalf("comments %+v", cs)
	}
}

func TestGitHubLabels(t *testing.T) {
	ctx := context.Background()
	fake, gh := newFakeGitHub(t, "")
	add, remove := PlanLabels(&PlanReport{Plans: []*plan.Plan{pipelinePlan(t)}})
	if err := gh.SetLabels(ctx, 6, add, remove); err != nil {
		t.Fatal(err)
	}
	if got := fake.Labels(6); !slices.Equal(got, []string{"pipe:destroy", "pipe:progressive"}) {
		t.Errorf("labels %v", got)
	}
	add, remove = PlanLabels(&PlanReport{Plans: []*plan.Plan{unchangedPlan()}})
	if err := gh.SetLabels(ctx, 6, add, remove); err != nil {
		t.Fatal(err)
	}
	if got := fake.Labels(6); !slices.Equal(got, []string{"pipe:no-changes"}) {
		t.Errorf("labels %v", got)
	}
}

func TestGitHubBadToken(t *testing.T) {
	_, srv := fakes.NewGitHub(testToken)
	defer srv.Close()
	gh, err := NewGitHub(srv.Client(), srv.URL, "acme/deploys", "wrong-token-value")
	if err != nil {
		t.Fatal(err)
	}
	_, err = PostPlan(context.Background(), gh.PR(1), &PlanReport{Plans: []*plan.Plan{quickPlan()}}, nil, false)
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong-token-value") {
		t.Errorf("error %v", err)
	}
	if _, err := NewGitHub(nil, "", "no-slash", "x"); err == nil {
		t.Error("a repository without owner was accepted")
	}
}

func TestGitHubResult(t *testing.T) {
	ctx := context.Background()
	fake, gh := newFakeGitHub(t, "")
	rec := sampleRecord()
	fake.SetPullsOfCommit(rec.Target.Hash, 12)
	fake.AddComment(12, "bob", "thanks")
	o := ResultOptions{Environment: "prod", Redactor: NewRedactor(testToken), Comment: true, Deployment: true, Status: true, Now: rec.UpdatedAt}
	posted, err := PostGitHubResult(ctx, gh, ghCtx, rec, o)
	if err != nil {
		t.Fatal(err)
	}
	if posted.PR != 12 || posted.DeploymentID == 0 || posted.CommentURL == "" {
		t.Fatalf("posted %+v", posted)
	}
	deps := fake.Deployments()
	if len(deps) != 1 || deps[0].Environment != "prod" || deps[0].Ref != rec.Target.Hash || deps[0].Payload["record"] != rec.ID ||
		!slices.Equal(deps[0].Statuses, []string{"failure: web failed (PIPELINE)"}) {
		t.Errorf("deployments %+v", deps)
	}
	if got := fake.Statuses(rec.Target.Hash); !slices.Equal(got, []string{"pipe/sync/web=failure: web failed (PIPELINE)"}) {
		t.Errorf("statuses %v", got)
	}
	cs := fake.Comments(12)
	if len(cs) != 2 || !strings.HasPrefix(cs[1].Body, ResultMarker("", "web")) || !strings.Contains(cs[1].Body, "**Rolled back**") {
		t.Fatalf("comments %+v", cs)
	}
	// The next deployment of the app updates the same comment.
	rec2 := sampleRecord()
	rec2.Status = "SUCCEEDED"
	rec2.Stages = rec2.Stages[:1]
	rec2.Reason = ""
	if _, err := PostGitHubResult(ctx, gh, ghCtx, rec2, o); err != nil {
		t.Fatal(err)
	}
	cs2 := fake.Comments(12)
	if len(cs2) != 2 || cs2[1].ID != cs[1].ID || !strings.Contains(cs2[1].Body, "✅ pipe sync web: SUCCEEDED") {
		t.Fatalf("not updated in place: %+v", cs2)
	}
	// A commit no pull request has gets a commit comment.
	rec3 := sampleRecord()
	rec3.Target.Hash = "3333333333333333333333333333333333333333"
	if _, err := PostGitHubResult(ctx, gh, ghCtx, rec3, ResultOptions{Comment: true}); err != nil {
		t.Fatal(err)
	}
	if got := fake.CommitComments(rec3.Target.Hash); len(got) != 1 || !strings.Contains(got[0], "pipe sync web") {
		t.Errorf("commit comments %v", got)
	}
	noSecretSent(t, fake.Requests(), testToken)
}
