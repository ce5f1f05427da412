package state

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

func TestLockLifecycle(t *testing.T) {
	e := newEnv(t, 1)
	clock := newFakeClock()
	a, _ := e.open(t, e.clone(t), clock)
	b, _ := e.open(t, e.clone(t), clock)
	la, err := a.Lock(bg, "web", LockRequest{Owner: "job-a", CIRunURL: "https://ci/run/a", DeploymentID: "D-A", Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if la.TakeoverOf != nil {
		t.Errorf("fresh lock reports a takeover")
	}
	_, err = b.Lock(bg, "web", LockRequest{Owner: "job-b"})
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.Owner != "job-a" || le.Holder.CIRunURL != "https://ci/run/a" {
		t.Fatalf("second Lock: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "job-a") || !strings.Contains(msg, "https://ci/run/a") {
		t.Errorf("LockedError message should name holder and run: %s", msg)
	}
	holder, err := b.LockHolder(bg, "web")
	if err != nil || holder == nil || holder.DeploymentID != "D-A" {
		t.Fatalf("LockHolder = %+v, %v", holder, err)
	}
	// Plain git shows the lock.
	if js := gitserver.Git(t, e.bare, "show", "refs/pipe/locks/web:lock.json"); !strings.Contains(js, `"owner": "job-a"`) {
		t.Errorf("lock.json: %s", js)
	}
	clock.Advance(50 * time.Second)
	if err := a.Renew(bg, la); err != nil {
		t.Fatal(err)
	}
	clock.Advance(50 * time.Second) // past the first lease, within the renewed one
	if _, err := b.Lock(bg, "web", LockRequest{Owner: "job-b"}); !errors.As(err, &le) {
		t.Fatalf("renewed lock was taken: %v", err)
	}
	if err := a.Unlock(bg, la); err != nil {
		t.Fatal(err)
	}
	lb, err := b.Lock(bg, "web", LockRequest{Owner: "job-b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Unlock(bg, lb); err != nil {
		t.Fatal(err)
	}
	if out, _ := gitserver.GitE(e.bare, "rev-parse", "--verify", "-q", "refs/pipe/locks/web"); out != "" {
		t.Errorf("lock ref left after release: %s", out)
	}
}

func TestLockTakeoverAfterExpiry(t *testing.T) {
	e := newEnv(t, 1)
	clock := newFakeClock()
	a, _ := e.open(t, e.clone(t), clock)
	b, _ := e.open(t, e.clone(t), clock)
	rec := newRecord("web", e.commits[0])
	if err := a.Begin(bg, rec); err != nil {
		t.Fatal(err)
	}
	la, err := a.Lock(bg, "web", LockRequest{Owner: "job-a", CIRunURL: "https://ci/run/a", DeploymentID: rec.ID, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(61 * time.Second) // job-a died
	lb, err := b.Lock(bg, "web", LockRequest{Owner: "job-b", Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if lb.TakeoverOf == nil || lb.TakeoverOf.Owner != "job-a" || lb.TakeoverOf.DeploymentID != rec.ID {
		t.Fatalf("TakeoverOf = %+v", lb.TakeoverOf)
	}
	// The dead deployment's record says what happened.
	got, err := b.Get(bg, "web", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 1 || got.Events[0].Kind != EventLockTakeover || got.Events[0].Actor != "job-b" {
		t.Errorf("events = %+v", got.Events)
	}
	// The old holder finds out it lost the lock.
	if err := a.Renew(bg, la); !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), "job-b") {
		t.Errorf("Renew after takeover: %v", err)
	}
	if err := a.Unlock(bg, la); !errors.Is(err, ErrLockLost) {
		t.Errorf("Unlock after takeover: %v", err)
	}
	// If the old holder writes its record later, the event is kept.
	rec.Status = StatusFailed
	if err := a.Update(bg, rec); err != nil {
		t.Fatal(err)
	}
	c, _ := e.open(t, e.clone(t), clock)
	got, _ = c.Get(bg, "web", rec.ID)
	if got.Status != StatusFailed || len(got.Events) != 1 {
		t.Errorf("after the old holder's update: status %s, events %+v", got.Status, got.Events)
	}
	log := gitserver.Git(t, e.bare, "log", "--format=%s", "refs/pipe/locks/web")
	if !strings.Contains(log, "taken over by job-b") {
		t.Errorf("lock history: %s", log)
	}
}

func TestForceUnlock(t *testing.T) {
	e := newEnv(t, 1)
	clock := newFakeClock()
	a, _ := e.open(t, e.clone(t), clock)
	op, _ := e.open(t, e.clone(t), clock)
	if prev, err := op.ForceUnlock(bg, "web", ForceUnlockRequest{Actor: "alice"}); prev != nil || err != nil {
		t.Fatalf("ForceUnlock of an unlocked app = %v, %v", prev, err)
	}
	rec := newRecord("web", e.commits[0])
	if err := a.Begin(bg, rec); err != nil {
		t.Fatal(err)
	}
	la, err := a.Lock(bg, "web", LockRequest{Owner: "job-a", DeploymentID: rec.ID})
	if err != nil {
		t.Fatal(err)
	}
	prev, err := op.ForceUnlock(bg, "web", ForceUnlockRequest{Actor: "alice", Reason: "job hung"})
	if err != nil || prev == nil || prev.Owner != "job-a" {
		t.Fatalf("ForceUnlock = %+v, %v", prev, err)
	}
	got, _ := op.Get(bg, "web", rec.ID)
	if len(got.Events) != 1 || got.Events[0].Kind != EventForceUnlock || !strings.Contains(got.Events[0].Message, "job hung") {
		t.Errorf("events = %+v", got.Events)
	}
	if err := a.Unlock(bg, la); !errors.Is(err, ErrLockLost) {
		t.Errorf("Unlock after force: %v", err)
	}
}

// TestBrokenLockRef: a lock ref that is not a lock commit never crashes;
// a blob counts as expired (pipe never writes one), so it can be taken.
func TestBrokenLockRef(t *testing.T) {
	e := newEnv(t, 1)
	work := e.clone(t)
	blob := strings.TrimSpace(gitIn(t, work, "junk\n", "hash-object", "-w", "--stdin"))
	gitserver.Git(t, work, "update-ref", "refs/pipe/locks/web", blob)
	tree := strings.TrimSpace(gitIn(t, work, "", "mktree"))
	cmd := exec.Command("git", "commit-tree", tree, "-m", "not a lock")
	cmd.Dir, cmd.Env = work, append(gitserver.Env(), "GIT_COMMITTER_DATE=2005-04-07T22:13:13Z")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	commit := strings.TrimSpace(string(out))
	gitserver.Git(t, work, "update-ref", "refs/pipe/locks/api", commit)
	gitserver.Git(t, work, "push", "--quiet", e.srv.AuthURL("repo.git", testToken), "refs/pipe/locks/*:refs/pipe/locks/*")

	s, notices := e.open(t, e.clone(t), newFakeClock())
	l, err := s.Lock(bg, "web", LockRequest{Owner: "me"})
	if err != nil {
		t.Fatalf("Lock over a blob ref: %v", err)
	}
	if l.TakeoverOf == nil || !strings.Contains(l.TakeoverOf.Owner, "unreadable") {
		t.Errorf("TakeoverOf = %+v", l.TakeoverOf)
	}
	// A commit without lock.json holds for DefaultLease from its time
	// (2005 here, long expired).
	if _, err := s.Lock(bg, "api", LockRequest{Owner: "me"}); err != nil {
		t.Errorf("Lock over an old bad commit: %v", err)
	}
	if ws := strings.Join(warnings(*notices), "\n"); !strings.Contains(ws, "not a lock commit") || !strings.Contains(ws, "no lock.json") {
		t.Errorf("warnings: %s", ws)
	}
}
