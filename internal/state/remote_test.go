package state

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// TestConcurrentWriterMerges: B's view of the remote is stale when it
// writes; its compare-and-swap push is rejected, it fetches, merges and
// retries, and both records survive, also when both are on one commit.
func TestConcurrentWriterMerges(t *testing.T) {
	e := newEnv(t, 3)
	clock := newFakeClock()
	a, _ := e.open(t, e.clone(t), clock)
	b, bNotices := e.open(t, e.clone(t), clock)
	if _, err := a.History(bg, "web", 0); err != nil { // both fetch now
		t.Fatal(err)
	}
	if _, err := b.History(bg, "web", 0); err != nil {
		t.Fatal(err)
	}
	ra, rb, rc := newRecord("web", e.commits[1]), newRecord("web", e.commits[1]), newRecord("web", e.commits[2])
	if err := a.Begin(bg, ra); err != nil {
		t.Fatal(err)
	}
	if err := a.Begin(bg, rc); err != nil {
		t.Fatal(err)
	}
	if err := b.Begin(bg, rb); err != nil {
		t.Fatal(err)
	}
	retried := false
	for _, n := range *bNotices {
		retried = retried || strings.Contains(n.Msg, "updated by another job")
	}
	if !retried {
		t.Errorf("B should have retried after a rejected push: %v", *bNotices)
	}
	fresh, _ := e.open(t, e.clone(t), clock)
	h, err := fresh.History(bg, "web", 0)
	if err != nil || len(h) != 3 {
		t.Fatalf("History = %d records, %v", len(h), err)
	}
	// A's Update after B's write merges too.
	ra.Status = StatusSucceeded
	if err := a.Update(bg, ra); err != nil {
		t.Fatal(err)
	}
	fresh2, _ := e.open(t, e.clone(t), clock)
	got, err := fresh2.Get(bg, "web", ra.ID)
	if err != nil || got.Status != StatusSucceeded {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if h, _ := fresh2.History(bg, "web", 0); len(h) != 3 {
		t.Errorf("after update: %d records", len(h))
	}
}

// TestLocalCommitsDivergedFromRemote: records written with NoPush, then a
// pushing run on the same clone after others wrote: the trees are merged
// (a merge commit) and every record reaches the remote.
func TestLocalCommitsDivergedFromRemote(t *testing.T) {
	e := newEnv(t, 3)
	clock := newFakeClock()
	dir := e.clone(t)
	local, _ := e.open(t, dir, clock, func(o *Options) { o.NoPush = true })
	r1 := newRecord("web", e.commits[0])
	if err := local.Begin(bg, r1); err != nil {
		t.Fatal(err)
	}
	if out, _ := gitserver.GitE(e.bare, "rev-parse", "--verify", "-q", "refs/notes/pipe/apps/web"); out != "" {
		t.Fatalf("NoPush pushed: %s", out)
	}
	other, _ := e.open(t, e.clone(t), clock)
	r2 := newRecord("web", e.commits[0])
	if err := other.Begin(bg, r2); err != nil {
		t.Fatal(err)
	}
	local.Close()
	pushing, _ := e.open(t, dir, clock)
	r3 := newRecord("web", e.commits[1])
	if err := pushing.Begin(bg, r3); err != nil {
		t.Fatal(err)
	}
	show := gitserver.Git(t, e.bare, "notes", "--ref=pipe/apps/web", "show", e.commits[0])
	if !strings.Contains(show, r1.ID) || !strings.Contains(show, r2.ID) {
		t.Errorf("merged note misses a record:\n%s", show)
	}
	parents := gitserver.Git(t, e.bare, "log", "--format=%p", "refs/notes/pipe/apps/web")
	if !strings.Contains(parents, " ") {
		t.Errorf("expected a merge commit in the notes history:\n%s", parents)
	}
	if out, err := gitserver.GitE(e.bare, "fsck", "--strict", "--no-dangling"); err != nil {
		t.Errorf("git fsck: %v\n%s", err, out)
	}
}

// TestRetriesAreBounded: a remote that changes before every retry makes
// the write fail after MaxAttempts with ErrConflict, having waited with
// growing backoff.
func TestRetriesAreBounded(t *testing.T) {
	e := newEnv(t, 2)
	clock := newFakeClock()
	other, _ := e.open(t, e.clone(t), newFakeClock())
	var waits []time.Duration
	s, _ := e.open(t, e.clone(t), clock, func(o *Options) {
		o.MaxAttempts = 3
		o.Backoff = 40 * time.Millisecond
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return nil
		}
		// The clock is read while each attempt builds its commit, between
		// the fetch and the push: move the remote right then.
		o.Now = func() time.Time {
			if err := other.Begin(bg, newRecord("web", e.commits[0])); err != nil {
				t.Error(err)
			}
			return clock.Now()
		}
	})
	if _, err := s.History(bg, "web", 0); err != nil {
		t.Fatal(err)
	}
	err := s.Begin(bg, newRecord("web", e.commits[1]))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if len(waits) != 2 {
		t.Errorf("waited %v, want 2 waits", waits)
	}
	for i, d := range waits {
		lo := (40 * time.Millisecond << i) / 2
		if d < lo || d > 2*lo {
			t.Errorf("wait %d = %v, want in [%v, %v]", i, d, lo, 2*lo)
		}
	}
}

// TestPushWithoutPermission: a read-only token is refused with HTTP 403;
// the error says what to grant for the host the token belongs to.
func TestPushWithoutPermission(t *testing.T) {
	e := newEnv(t, 1)
	for _, tc := range []struct {
		creds Credentials
		hint  string
	}{
		{Credentials{Username: "x-access-token", Token: "ro-token-42", TokenSource: "GITHUB_TOKEN"}, "permissions: contents: write"},
		{Credentials{Username: "gitlab-ci-token", Token: "ro-token-42", TokenSource: "CI_JOB_TOKEN"}, "write_repository"},
	} {
		s, _ := e.open(t, e.clone(t), newFakeClock(), func(o *Options) { o.Credentials = tc.creds })
		err := s.Begin(bg, newRecord("web", e.commits[0]))
		var se *Error
		if !errors.Is(err, ErrPermission) || !errors.As(err, &se) || !strings.Contains(se.Hint, tc.hint) {
			t.Errorf("%s: err = %v (hint %q), want ErrPermission with hint %q", tc.creds.TokenSource, err, hintOf(err), tc.hint)
		}
		if strings.Contains(err.Error(), "ro-token-42") {
			t.Errorf("the token leaked into the error: %v", err)
		}
	}
	// No credentials at all: fetch needs them.
	s, _ := e.open(t, e.clone(t), newFakeClock(), func(o *Options) { o.Credentials = Credentials{} })
	if _, err := s.History(bg, "web", 0); !errors.Is(err, ErrPermission) {
		t.Errorf("fetch without credentials: %v", err)
	}
}

func hintOf(err error) string {
	var se *Error
	if errors.As(err, &se) {
		return se.Hint
	}
	return ""
}

// TestGitDaemonRemote: records and locks over git:// (git daemon).
func TestGitDaemonRemote(t *testing.T) {
	e := newEnv(t, 2)
	d := gitserver.StartDaemon(t, e.root)
	clock := newFakeClock()
	s, _ := e.open(t, e.clone(t), clock, func(o *Options) { o.RemoteURL = d.RepoURL("repo.git"); o.Credentials = Credentials{} })
	r := newRecord("web", e.commits[1])
	if err := s.Begin(bg, r); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(bg, "web", LockRequest{Owner: "job-1"})
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := e.open(t, e.clone(t), clock, func(o *Options) { o.RemoteURL = d.RepoURL("repo.git"); o.Credentials = Credentials{} })
	if got, err := s2.Get(bg, "web", r.ID); err != nil || got.Status != StatusRunning {
		t.Fatalf("Get over git:// = %+v, %v", got, err)
	}
	var le *LockedError
	if _, err := s2.Lock(bg, "web", LockRequest{Owner: "job-2"}); !errors.As(err, &le) || le.Holder.Owner != "job-1" {
		t.Fatalf("second Lock = %v", err)
	}
	if err := s.Unlock(bg, l); err != nil {
		t.Fatal(err)
	}
}

// TestOfflineWithoutRemote: Offline needs no remote; NoPush without a
// remote falls back to local with a notice.
func TestOfflineWithoutRemote(t *testing.T) {
	dir := t.TempDir()
	gitserver.Git(t, dir, "init", "--quiet")
	gitserver.Git(t, dir, "commit", "--quiet", "--allow-empty", "-m", "c")
	head := strings.TrimSpace(gitserver.Git(t, dir, "rev-parse", "HEAD"))
	if _, err := Open(dir, Options{Now: time.Now}); err == nil || !strings.Contains(err.Error(), `no remote "origin"`) {
		t.Fatalf("Open without remote: %v", err)
	}
	var ns []Notice
	s, err := Open(dir, Options{Now: time.Now, NoPush: true, Notify: func(n Notice) { ns = append(ns, n) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(ns) != 1 {
		t.Errorf("notices: %v", ns)
	}
	if err := s.Begin(bg, newRecord("web", head)); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(bg, "web", LockRequest{Owner: "me"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock(bg, l); err != nil {
		t.Fatal(err)
	}
	if out := gitserver.Git(t, dir, "notes", "--ref=pipe/apps/web", "show", head); !strings.Contains(out, `"app":"web"`) {
		t.Errorf("local note: %s", out)
	}
}
