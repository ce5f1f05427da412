package execute

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/state"
)

// stubApprovals is an ApprovalSource answering a fixed list.
type stubApprovals struct {
	mu    sync.Mutex
	list  []Approval
	err   error
	calls int
	reqs  []ApprovalRequest
}

func (s *stubApprovals) Approvals(_ context.Context, req ApprovalRequest) ([]Approval, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.reqs = append(s.reqs, req)
	return append([]Approval(nil), s.list...), s.err
}

func (s *stubApprovals) set(list ...Approval) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = list
}

func TestApprovalSourceCountsWithRecordedApprovals(t *testing.T) {
	app := approvalApp(t, []string{"alice", "bob", "carol"}, 2)
	p := planOf(app, false, nil)
	d := newDeployment(app, p)
	store := &memStore{}
	pf := &fakePlatform{}
	e, _ := newEngine(store, pf)
	src := &stubApprovals{}
	ctx := WithApprovalSource(context.Background(), src)
	if err := e.Run(ctx, d); !errors.Is(err, ErrWaitingApproval) {
		t.Fatalf("err = %v", err)
	}
	start := store.current.StartedAt
	rec := store.current.Clone()
	if _, _, err := Approve(rec, approvalOpts(app), "alice"); err != nil {
		t.Fatal(err)
	}
	// alice again (already counted), mallory (not an approver), dave before
	// the deployment: none of them makes the second approval.
	src.set(Approval{By: "alice", Time: start.Add(time.Minute), Source: "pr-comment", URL: "u1"},
		Approval{By: "mallory", Time: start.Add(time.Minute), Source: "pr-comment", URL: "u2"},
		Approval{By: "carol", Time: start.Add(-time.Minute), Source: "pr-comment", URL: "u3"})
	if err := e.Run(ctx, &Deployment{App: app, Plan: p, Record: rec.Clone()}); !errors.Is(err, ErrWaitingApproval) {
		t.Fatalf("resume: %v", err)
	}
	if got := store.current.Stages[1].Metadata[MetaApprovals]; got != "alice" {
		t.Fatalf("approvals %q", got)
	}
	src.set(Approval{By: "bob", Time: start.Add(2 * time.Minute), Source: "pr-comment", URL: "https://github.example/acme/app/pull/7#issuecomment-9"})
	rec = store.current.Clone()
	if err := e.Run(ctx, &Deployment{App: app, Plan: p, Record: rec}); err != nil {
		t.Fatalf("resume with bob's comment: %v", err)
	}
	cur := store.current
	if cur.Status != state.StatusSucceeded || cur.Stages[1].Metadata[MetaApprovals] != "alice,bob" {
		t.Fatalf("record %s, approvals %q", cur.Status, cur.Stages[1].Metadata[MetaApprovals])
	}
	var ev *state.Event
	for i := range cur.Events {
		if cur.Events[i].Kind == EventApproval {
			ev = &cur.Events[i]
		}
	}
	if ev == nil || ev.Actor != "bob" || !ev.Time.Equal(start.Add(2*time.Minute)) ||
		!strings.Contains(ev.Message, "pr-comment") || !strings.Contains(ev.Message, "issuecomment-9") {
		t.Fatalf("approval events %+v", cur.Events)
	}
	if r := src.reqs[0]; r.StageID != "approve" || strings.Join(r.Approvers, ",") != "alice,bob,carol" || r.Record.ID != "D1" {
		t.Errorf("request %+v", r)
	}
}

func TestApprovalSourceWhileWaiting(t *testing.T) {
	app := approvalApp(t, nil, 1)
	d := newDeployment(app, planOf(app, false, nil))
	d.WaitApproval = true
	store := &memStore{}
	e, _ := newEngine(store, &fakePlatform{})
	src := &stubApprovals{err: errors.New("GitHub answered 502")}
	done := make(chan error, 1)
	go func() { done <- e.Run(WithApprovalSource(context.Background(), src), d) }()
	time.Sleep(50 * time.Millisecond)
	src.mu.Lock()
	src.err = nil
	src.list = []Approval{{By: "erin", Time: time.Now().Add(time.Hour), Source: "pr-comment"}}
	src.mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the approval from the source was not seen while waiting")
	}
	if got := store.current.Stages[1].Metadata[MetaApprovals]; got != "erin" {
		t.Errorf("approvals %q", got)
	}
}
