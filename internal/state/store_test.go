package state

import (
	"strings"
	"testing"

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
