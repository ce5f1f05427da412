package report

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

func TestIsApprovalCommand(t *testing.T) {
	for body, want := range map[string]bool{
		"/pipe approve":                    true,
		"/pipe approve\r\n":                true,
		"LGTM\n/pipe approve  ":            true,
		"/pipe approve web":                true,
		"/pipe approve   web\n":            true,
		"/pipe approve api":                false,
		"/pipe approve web api":            false,
		"/pipe approved":                   false,
		"/pipe approve-all":                false,
		" /pipe approve":                   false,
		"please /pipe approve":             false,
		"> /pipe approve":                  false,
		"/pipe  approve":                   false,
		"/PIPE APPROVE":                    false,
		"lgtm":                             false,
		"first line\n/pipe approve web\nx": true,
	} {
		if got := IsApprovalCommand(body, "web"); got != want {
			t.Errorf("IsApprovalCommand(%q) = %v, want %v", body, got, want)
		}
	}
}

func TestPRApprovalsFromGitHub(t *testing.T) {
	const token = "ghs_approvalsT0ken"
	fake, srv := fakes.NewGitHub(token)
	defer srv.Close()
	fake.PerPage = 2 // pagination
	gh, err := NewGitHub(http.DefaultClient, srv.URL, "acme/deploys", token)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	fake.SetPermission("alice", "write")
	fake.SetPermission("mia", "maintain")
	fake.SetPermission("adam", "admin")
	fake.SetPermission("rita", "read")
	fake.SetPermission("tom", "triage")
	fake.SetPermission("old", "admin")
	fake.SetPermission("edith", "write")
	fake.SetPermission("undo", "write")
	fake.AddCommentAt(7, "old", "/pipe approve", at(-time.Minute))              // before the deployment
	fake.AddCommentAt(7, "alice", "looks good\n/pipe approve", at(time.Minute)) // allowed
	fake.AddCommentAt(7, "alice", "/pipe approve", at(2*time.Minute))           // counted once
	fake.AddCommentAt(7, "rita", "/pipe approve", at(time.Minute))              // read: not allowed
	fake.AddCommentAt(7, "tom", "/pipe approve web", at(time.Minute))           // triage: not allowed
	fake.AddCommentAt(7, "stranger", "/pipe approve", at(time.Minute))          // unknown: 404
	fake.AddCommentAt(7, "adam", "/pipe approve api", at(time.Minute))          // another app
	fake.AddCommentAt(7, "mia", "/pipe approve web", at(3*time.Minute))         // this app
	edited := fake.AddCommentAt(7, "edith", "lgtm", at(4*time.Minute))
	fake.EditComment(edited, "lgtm\n/pipe approve") // counts by its current body
	undone := fake.AddCommentAt(7, "undo", "/pipe approve", at(5*time.Minute))
	fake.EditComment(undone, "~~/pipe approve~~ wait") // withdrawn

	ctx := context.Background()
	comments, err := gh.PRComments(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(comments) != 10 || comments[1].User != "alice" || !comments[1].CreatedAt.Equal(at(time.Minute)) ||
		!strings.Contains(comments[1].URL, "issuecomment-") {
		t.Fatalf("comments %+v", comments)
	}
	got, err := PRApprovals(ctx, comments, "web", start, gh.CanWrite)
	if err != nil {
		t.Fatal(err)
	}
	var by []string
	for _, a := range got {
		by = append(by, a.By)
	}
	if strings.Join(by, ",") != "alice,mia,edith" {
		t.Fatalf("approvals by %v", by)
	}
	if !got[0].Time.Equal(at(time.Minute)) || got[0].URL != comments[1].URL {
		t.Errorf("alice's approval %+v", got[0])
	}
	// The permission of each commenter is asked once; never for comments
	// that do not count anyway.
	asked := map[string]int{}
	for _, r := range fake.Requests() {
		if strings.HasSuffix(r.Path, "/permission") {
			asked[strings.Split(r.Path, "/")[5]]++
		}
	}
	if asked["alice"] != 1 || asked["old"] != 0 || asked["adam"] != 0 || asked["undo"] != 0 || asked["stranger"] != 1 {
		t.Errorf("permission requests %v", asked)
	}
	// An approvers list decides without the API.
	got, err = PRApprovals(ctx, comments, "api", start, func(_ context.Context, u string) (bool, error) { return u == "adam", nil })
	if err != nil || len(got) != 1 || got[0].By != "adam" {
		t.Errorf("api approvals %+v, %v", got, err)
	}
}

func TestCanWrite(t *testing.T) {
	fake, srv := fakes.NewGitHub("")
	defer srv.Close()
	gh, _ := NewGitHub(http.DefaultClient, srv.URL+"/api/v3", "acme/deploys", "x")
	for user, role := range map[string]string{"a": "admin", "m": "maintain", "w": "write", "t": "triage", "r": "read"} {
		fake.SetPermission(user, role)
	}
	for user, want := range map[string]bool{"a": true, "m": true, "w": true, "t": false, "r": false, "nobody": false} {
		if got, err := gh.CanWrite(context.Background(), user); err != nil || got != want {
			t.Errorf("CanWrite(%s) = %v, %v", user, got, err)
		}
	}
}
