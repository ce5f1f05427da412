package state

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

func TestBeginUpdateHistoryOverHTTP(t *testing.T) {
	e := newEnv(t, 5)
	clock := newFakeClock()
	s, notices := e.open(t, e.clone(t), clock)

	rec := newRecord("web", e.commits[4])
	if err := s.Begin(bg, rec); err != nil {
		t.Fatal(err)
	}
	if rec.ID == "" || rec.Revision != 1 {
		t.Fatalf("Begin did not fill id/revision: %+v", rec)
	}
	rec.Stages[0].Status = StageSucceeded
	rec.Status = StatusSucceeded
	if err := s.Update(bg, rec); err != nil {
		t.Fatal(err)
	}
	// A fresh clone (CI checkouts have no notes) sees the record.
	s2, _ := e.open(t, e.clone(t), clock)
	got, err := s2.LastSuccessful(bg, "web")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != rec.ID || got.Revision != 2 || got.Stages[0].Status != StageSucceeded {
		t.Fatalf("LastSuccessful = %+v", got)
	}
	// Plain git reads it from the remote.
	show := gitserver.Git(t, e.bare, "notes", "--ref=pipe/apps/web", "show", e.commits[4])
	if !strings.Contains(show, rec.ID) || !strings.Contains(show, `"status":"SUCCEEDED"`) {
		t.Fatalf("git notes show: %s", show)
	}
	if w := warnings(*notices); len(w) > 0 {
		t.Fatalf("warnings: %v", w)
	}
}

func TestStatusAndApps(t *testing.T) {
	e := newEnv(t, 3)
	clock := newFakeClock()
	s, _ := e.open(t, e.clone(t), clock)
	ok := newRecord("team/web", e.commits[0])
	if err := s.Begin(bg, ok); err != nil {
		t.Fatal(err)
	}
	ok.Status = StatusSucceeded
	if err := s.Update(bg, ok); err != nil {
		t.Fatal(err)
	}
	failed := newRecord("team/web", e.commits[1])
	failed.Status = StatusRunning
	if err := s.Begin(bg, failed); err != nil {
		t.Fatal(err)
	}
	failed.Status, failed.Reason = StatusFailed, "analysis failed"
	if err := s.Update(bg, failed); err != nil {
		t.Fatal(err)
	}
	running := newRecord("team/web", e.commits[2])
	if err := s.Begin(bg, running); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(bg, "team/web", LockRequest{Owner: "job-9", DeploymentID: running.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(bg, "locked-only", LockRequest{Owner: "job-1"}); err != nil {
		t.Fatal(err)
	}

	other, _ := e.open(t, e.clone(t), clock)
	apps, err := other.Apps(bg)
	if err != nil || strings.Join(apps, ",") != "locked-only,team/web" {
		t.Fatalf("Apps = %v, %v", apps, err)
	}
	st, err := other.Status(bg, "team/web")
	if err != nil {
		t.Fatal(err)
	}
	if st.Last.ID != running.ID || st.LastSuccessful.ID != ok.ID || st.Active.ID != running.ID ||
		st.Lock == nil || st.Lock.Owner != "job-9" || st.LockExpired {
		t.Errorf("Status = last %s, ok %s, active %v, lock %+v", st.Last.ID, st.LastSuccessful.ID, st.Active, st.Lock)
	}
	h, _ := other.History(bg, "team/web", 2)
	if len(h) != 2 || h[0].ID != running.ID || h[1].ID != failed.ID || h[1].Reason != "analysis failed" {
		t.Errorf("History(2) = %v", h)
	}
	if _, err := other.Get(bg, "team/web", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing: %v", err)
	}
	if _, err := other.LastSuccessful(bg, "unknown-app"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LastSuccessful of an app without records: %v", err)
	}
	clock.Advance(DefaultLease + time.Second)
	if st, _ := other.Status(bg, "locked-only"); st.Lock == nil || !st.LockExpired || st.Last != nil {
		t.Errorf("expired lock status = %+v", st)
	}
}

func TestRemoteURL(t *testing.T) {
	e := newEnv(t, 1)
	dir := e.clone(t)
	if u, err := RemoteURL(dir, ""); err != nil || u != e.url {
		t.Errorf("RemoteURL = %q, %v", u, err)
	}
	if u, err := RemoteURL(dir, "upstream"); err != nil || u != "" {
		t.Errorf("RemoteURL(upstream) = %q, %v", u, err)
	}
}

// TestEmptyRemote: the first record of a repository whose remote has no
// refs at all.
func TestEmptyRemote(t *testing.T) {
	e := newEnv(t, 0)
	dir := t.TempDir()
	gitserver.Git(t, dir, "init", "--quiet")
	gitserver.Git(t, dir, "remote", "add", "origin", e.url)
	s, _ := e.open(t, dir, newFakeClock())
	if h, err := s.History(bg, "web", 0); err != nil || len(h) != 0 {
		t.Fatalf("History on an empty remote = %v, %v", h, err)
	}
	if err := s.Begin(bg, newRecord("web", strings.Repeat("ab", 20))); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(bg, "web", LockRequest{Owner: "me"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock(bg, l); err != nil {
		t.Fatal(err)
	}
}
