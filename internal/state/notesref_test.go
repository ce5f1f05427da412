package state

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// TestCustomNotesRef: with Options.NotesRef set, records are written under
// <NotesRef>/apps/<app> on the remote (and nothing under refs/notes/pipe),
// plain `git notes --ref=<short>/apps/<app>` reads them, another store with
// the same NotesRef reads and lists them, one with the default does not,
// and locks stay under refs/pipe/locks/.
func TestCustomNotesRef(t *testing.T) {
	e := newEnv(t, 3)
	clock := newFakeClock()
	custom := func(o *Options) {
		o.NotesRef = "refs/notes/deploys"
		o.Committer = Identity{Name: "Deploy Bot", Email: "deploy@example.com"}
	}
	work := e.clone(t)
	s, _ := e.open(t, work, clock, custom)
	if got := s.NotesPrefix(); got != "refs/notes/deploys/apps/" {
		t.Errorf("NotesPrefix = %q", got)
	}
	if ref, err := s.NotesRef("team/api"); err != nil || ref != "refs/notes/deploys/apps/team%2Fapi" {
		t.Errorf("NotesRef(team/api) = %q, %v", ref, err)
	}
	if short, err := s.NotesRefShort("web"); err != nil || short != "deploys/apps/web" {
		t.Errorf("NotesRefShort(web) = %q, %v", short, err)
	}
	rec := newRecord("web", e.commits[1])
	if err := s.Begin(bg, rec); err != nil {
		t.Fatal(err)
	}
	rec.Status = StatusSucceeded
	if err := s.Update(bg, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Begin(bg, newRecord("team/api", e.commits[2])); err != nil {
		t.Fatal(err)
	}

	// On the remote, read with plain git.
	refs := gitserver.Git(t, e.bare, "for-each-ref", "--format=%(refname)", "refs/notes/")
	if want := "refs/notes/deploys/apps/team%2Fapi\nrefs/notes/deploys/apps/web\n"; refs != want {
		t.Errorf("notes refs on the remote:\n%s\nwant\n%s", refs, want)
	}
	shown := gitserver.Git(t, e.bare, "notes", "--ref=deploys/apps/web", "show", e.commits[1])
	if !strings.Contains(shown, `"id":"`+rec.ID+`"`) || !strings.Contains(shown, `"status":"SUCCEEDED"`) {
		t.Errorf("git notes --ref=deploys/apps/web show: %s", shown)
	}
	if who := strings.TrimSpace(gitserver.Git(t, e.bare, "log", "-1", "--format=%an <%ae> / %cn <%ce>", "refs/notes/deploys/apps/web")); who != "Deploy Bot <deploy@example.com> / Deploy Bot <deploy@example.com>" {
		t.Errorf("notes commit signed by %q", who)
	}
	// As docs/state.md says to, from a clone.
	plain := e.clone(t)
	gitserver.Git(t, plain, "fetch", "--quiet", e.srv.AuthURL("repo.git", testToken), "refs/notes/deploys/*:refs/notes/deploys/*")
	if shown := gitserver.Git(t, plain, "notes", "--ref=deploys/apps/team%2Fapi", "show", e.commits[2]); !strings.Contains(shown, `"app":"team/api"`) {
		t.Errorf("git notes --ref=deploys/apps/team%%2Fapi show: %s", shown)
	}
	// The remote-tracking copy follows the ref's name.
	if out, _ := gitserver.GitE(work, "rev-parse", "--verify", "-q", "refs/pipe/remotes/origin/notes/deploys/apps/web"); strings.TrimSpace(out) == "" {
		t.Error("no tracking ref refs/pipe/remotes/origin/notes/deploys/apps/web")
	}

	// A ref nested deeper under the prefix is not an app of this store.
	tip := strings.TrimSpace(gitserver.Git(t, e.bare, "rev-parse", "refs/notes/deploys/apps/web"))
	gitserver.Git(t, e.bare, "update-ref", "refs/notes/deploys/apps/staging/apps/web", tip)

	// Another clone with the same NotesRef reads and lists them.
	fresh, notices := e.open(t, e.clone(t), clock, func(o *Options) { o.NotesRef = "refs/notes/deploys" })
	got, err := fresh.LastSuccessful(bg, "web")
	if err != nil || got.ID != rec.ID {
		t.Fatalf("LastSuccessful = %+v, %v", got, err)
	}
	apps, err := fresh.Apps(bg)
	if err != nil || !slices.Equal(apps, []string{"team/api", "web"}) {
		t.Errorf("Apps = %v, %v", apps, err)
	}
	if w := warnings(*notices); len(w) > 0 {
		t.Errorf("warnings: %v", w)
	}

	// One with the default NotesRef sees none of them; its lock is at the
	// same ref as the custom store's, and the committer's e-mail is kept
	// when only the e-mail is set.
	def, _ := e.open(t, e.clone(t), clock, func(o *Options) { o.Committer = Identity{Email: "ci@example.com"} })
	if apps, err := def.Apps(bg); err != nil || len(apps) != 0 {
		t.Errorf("default store: Apps = %v, %v", apps, err)
	}
	if h, err := def.History(bg, "web", 0); err != nil || len(h) != 0 {
		t.Errorf("default store: History = %d records, %v", len(h), err)
	}
	l, err := def.Lock(bg, "web", LockRequest{Owner: "job-a"})
	if err != nil {
		t.Fatal(err)
	}
	if who := strings.TrimSpace(gitserver.Git(t, e.bare, "log", "-1", "--format=%an <%ae>", "refs/pipe/locks/web")); who != "pipe <ci@example.com>" {
		t.Errorf("lock commit signed by %q", who)
	}
	var locked *LockedError
	if _, err := s.Lock(bg, "web", LockRequest{Owner: "job-b"}); !errors.As(err, &locked) {
		t.Errorf("custom store took the lock the default store holds: %v", err)
	}
	if err := def.Unlock(bg, l); err != nil {
		t.Fatal(err)
	}
}

// TestInvalidNotesRef: Open rejects a NotesRef that is not a valid ref
// under refs/notes/, with an *Error saying why and what to set.
func TestInvalidNotesRef(t *testing.T) {
	e := newEnv(t, 1)
	work := e.clone(t)
	for _, ref := range []string{"refs/heads/deploys", "deploys", "refs/notes", "refs/notes/", "refs/notes/deploys/",
		"refs/notes/a..b", "refs/notes/a b", "refs/notes/x.lock", "refs/notes/.hidden", "refs/notes/a*"} {
		s, err := Open(work, Options{Now: newFakeClock().Now, NotesRef: ref})
		if err == nil {
			s.Close()
			t.Errorf("NotesRef %q accepted", ref)
			continue
		}
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("NotesRef %q: error %T %v, want *Error", ref, err, err)
		} else if !strings.Contains(err.Error(), "invalid notes ref") || !strings.Contains(err.Error(), ref) ||
			!strings.Contains(se.Hint, "refs/notes/") {
			t.Errorf("NotesRef %q: error %v (hint %q)", ref, err, se.Hint)
		}
		if _, err := AppNotesRef(ref, "web"); err == nil {
			t.Errorf("AppNotesRef(%q) accepted", ref)
		}
	}
	if !strings.Contains(checkNotesRefMsg("refs/heads/deploys"), "not under refs/notes/") {
		t.Errorf("message for refs/heads/deploys: %s", checkNotesRefMsg("refs/heads/deploys"))
	}
	for _, ref := range []string{"", "refs/notes/pipe", "refs/notes/deploys", "refs/notes/pipe-prod", "refs/notes/team/pipe.v2"} {
		s, err := Open(work, Options{Now: newFakeClock().Now, NotesRef: ref})
		if err != nil {
			t.Errorf("NotesRef %q rejected: %v", ref, err)
			continue
		}
		s.Close()
	}
	if ref, err := AppNotesRef("", "web"); err != nil || ref != "refs/notes/pipe/apps/web" {
		t.Errorf("AppNotesRef default = %q, %v", ref, err)
	}
}

func checkNotesRefMsg(ref string) string {
	if err := checkNotesRef(ref); err != nil {
		return err.Error()
	}
	return ""
}
