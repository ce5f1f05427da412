package state

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// pushNotes adds notes (commit -> content) to app's notes ref with plain
// git in a clone and pushes them to the remote.
func (e *env) pushNotes(t *testing.T, app string, notes map[string][]byte) {
	t.Helper()
	work := e.clone(t)
	for commit, data := range notes {
		f := filepath.Join(t.TempDir(), "note")
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		gitserver.Git(t, work, "notes", "--ref=pipe/apps/"+app, "add", "-f", "-F", f, commit)
	}
	gitserver.Git(t, work, "push", "--quiet", e.srv.AuthURL("repo.git", testToken), "refs/notes/pipe/*:refs/notes/pipe/*")
}

// noteOver returns a note on commit of app bigger than limit.
func noteOver(t *testing.T, app, commit string, limit int) []byte {
	data := noteOf(t, app, commit, limit/400)
	if len(data) <= limit {
		t.Fatalf("note of %d bytes, want over %d", len(data), limit)
	}
	return data
}

// TestNoteOverTheSizeLimit: an app whose note is over MaxNoteSize cannot be
// read; the error names the app and the note and says how to compact, and
// after `pipe gc` (Compact) the app reads again.
func TestNoteOverTheSizeLimit(t *testing.T) {
	e := newEnv(t, 3)
	c := e.commits
	e.pushNotes(t, "web", map[string][]byte{c[0]: noteOver(t, "web", c[0], MaxNoteSize)})

	s, _ := e.open(t, e.clone(t), newFakeClock())
	_, err := s.History(bg, "web", 10)
	var se *Error
	if !errors.Is(err, ErrNoteTooLarge) || !errors.As(err, &se) {
		t.Fatalf("History of an oversized note: %v", err)
	}
	for _, want := range []string{`read records of app "web"`, "the note on commit " + c[0] + " in refs/notes/pipe/apps/web is", "over the limit of 8 MiB"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if !strings.Contains(se.Hint, "`pipe gc web`") {
		t.Errorf("hint %q does not say how to compact", se.Hint)
	}
	if _, err := s.LastSuccessful(bg, "web"); !errors.Is(err, ErrNoteTooLarge) {
		t.Errorf("LastSuccessful: %v", err)
	}

	res, err := s.Compact(bg, "web", CompactOptions{Actor: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept != DefaultKeep || res.Folded != MaxNoteSize/400-DefaultKeep {
		t.Errorf("compaction kept %d and folded %d", res.Kept, res.Folded)
	}
	s2, notices := e.open(t, e.clone(t), newFakeClock())
	h, err := s2.History(bg, "web", 0)
	if err != nil || len(h) != DefaultKeep {
		t.Fatalf("History after compaction: %d records, %v", len(h), err)
	}
	if w := warnings(*notices); len(w) > 0 {
		t.Errorf("warnings after compaction: %q", w)
	}
}

// TestWriteRefusesToGrowANotePastTheLimit: a record that would take a note
// over MaxNoteSize is refused with the same advice, and nothing is pushed.
func TestWriteRefusesToGrowANotePastTheLimit(t *testing.T) {
	e := newEnv(t, 2)
	c := e.commits
	data := noteOver(t, "web", c[0], MaxNoteSize)
	data = data[:strings.LastIndexByte(string(data[:MaxNoteSize-300]), '\n')+1] // just under the limit
	e.pushNotes(t, "web", map[string][]byte{c[0]: data})
	before := gitserver.Git(t, e.bare, "rev-parse", "refs/notes/pipe/apps/web")

	s, _ := e.open(t, e.clone(t), newFakeClock())
	err := s.Begin(bg, newRecord("web", c[0]))
	var se *Error
	if !errors.Is(err, ErrNoteTooLarge) || !errors.As(err, &se) || !strings.Contains(se.Hint, "`pipe gc web`") ||
		!strings.Contains(err.Error(), `write records of app "web"`) {
		t.Fatalf("Begin on a full note: %v", err)
	}
	if after := gitserver.Git(t, e.bare, "rev-parse", "refs/notes/pipe/apps/web"); after != before {
		t.Errorf("the remote ref moved: %s -> %s", before, after)
	}
	// Another commit's note is not affected.
	if err := s.Begin(bg, newRecord("web", c[1])); err != nil {
		t.Errorf("Begin on another commit: %v", err)
	}
}

// compactFixture writes 150 records of web on 6 commits (25 each, oldest
// first): record 0 is still RUNNING, 3 and 5 SUCCEEDED, the rest FAILED, so
// the last successful deployment (5) is older than the latest 100.
func compactFixture(t *testing.T, e *env) []string {
	t.Helper()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]string, 150)
	notes := map[string][]byte{}
	for i := range ids {
		commit := e.commits[i/25]
		r := newRecord("web", commit)
		r.SchemaVersion, r.Revision = SchemaVersion, 2
		r.CreatedAt = start.Add(time.Duration(i) * time.Hour)
		r.UpdatedAt = r.CreatedAt.Add(time.Minute)
		r.ID = NewID(r.CreatedAt)
		ids[i] = r.ID
		switch i {
		case 0:
			r.Status = StatusRunning
		case 3, 5:
			r.Status = StatusSucceeded
		default:
			r.Status = StatusFailed
		}
		line, _ := json.Marshal(r)
		notes[commit] = append(append(notes[commit], line...), '\n')
	}
	notes[e.commits[0]] = append(notes[e.commits[0]], "\nrolled back by hand\n"...)
	e.pushNotes(t, "web", notes)
	return ids
}

func TestCompactKeepsWhatIsNeeded(t *testing.T) {
	e := newEnv(t, 6)
	ids := compactFixture(t, e)
	c := e.commits
	s, _ := e.open(t, e.clone(t), newFakeClock())

	res, err := s.Compact(bg, "web", CompactOptions{Keep: 100, Actor: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	// Kept: the latest 100 (50-149), the running one (0), the last
	// successful one (5). Folded: 1-4 and 6-49, of which 3 SUCCEEDED.
	if res.Kept != 102 || res.Folded != 48 || res.Before == res.After {
		t.Fatalf("result %+v", res)
	}
	sum := res.Summary
	if sum.Folded != 48 || sum.ByStatus[StatusSucceeded] != 1 || sum.ByStatus[StatusFailed] != 47 ||
		len(sum.Compactions) != 1 || sum.Compactions[0].Actor != "ops" || sum.Compactions[0].Before != res.Before ||
		!sum.Oldest.Equal(time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC)) || !sum.Newest.Equal(time.Date(2025, 1, 3, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("summary %+v", sum)
	}

	// A fresh clone reads what was kept, with no warning about the summary.
	s2, notices := e.open(t, e.clone(t), newFakeClock())
	h, err := s2.History(bg, "web", 0)
	if err != nil || len(h) != 102 {
		t.Fatalf("History: %d records, %v", len(h), err)
	}
	last, err := s2.LastSuccessful(bg, "web")
	if err != nil || last.ID != ids[5] {
		t.Errorf("LastSuccessful = %v, %v; want record 5", last, err)
	}
	running, err := s2.Running(bg, "web")
	if err != nil || len(running) != 1 || running[0].ID != ids[0] {
		t.Errorf("Running = %v, %v", running, err)
	}
	if got, err := s2.Summary(bg, "web"); err != nil || got == nil || got.Folded != 48 {
		t.Errorf("Summary = %+v, %v", got, err)
	}
	for _, w := range warnings(*notices) { // the person's text only
		if !strings.Contains(w, "rolled back by hand") {
			t.Errorf("warning: %q", w)
		}
	}

	// Plain git: commit 1's note (records 25-49, all folded) is gone,
	// commit 0's keeps records 0 and 5 and the person's text; the summary
	// is a file of the notes tree; the folded records are in the tree of
	// the commit before.
	note := func(commit string) (string, error) {
		return gitserver.GitE(e.bare, "notes", "--ref=pipe/apps/web", "show", commit)
	}
	if out, err := note(c[1]); err == nil {
		t.Errorf("note on commit 1 still there: %s", out)
	}
	n0, err := note(c[0])
	if err != nil || strings.Count(n0, `"schemaVersion"`) != 2 || !strings.Contains(n0, ids[0]) || !strings.Contains(n0, ids[5]) ||
		!strings.Contains(n0, "rolled back by hand") {
		t.Errorf("note on commit 0: %s (%v)", n0, err)
	}
	if out := gitserver.Git(t, e.bare, "show", "refs/notes/pipe/apps/web:"+summaryFile); !strings.Contains(out, `"folded": 48`) {
		t.Errorf("summary file: %s", out)
	}
	if out := gitserver.Git(t, e.bare, "show", res.Before+":"+c[1]); !strings.Contains(out, ids[30]) {
		t.Errorf("folded records not in the previous notes commit: %s", out)
	}

	// Nothing left to fold: no new commit. A smaller keep folds more and
	// the summary adds up.
	again, err := s2.Compact(bg, "web", CompactOptions{Keep: 100})
	if err != nil || again.Folded != 0 || again.Before != again.After {
		t.Errorf("second compaction: %+v, %v", again, err)
	}
	third, err := s2.Compact(bg, "web", CompactOptions{Keep: 10})
	if err != nil || third.Folded != 90 || third.Summary.Folded != 138 || len(third.Summary.Compactions) != 2 {
		t.Fatalf("third compaction: %+v, %v", third, err)
	}
	if last, err := s2.LastSuccessful(bg, "web"); err != nil || last.ID != ids[5] {
		t.Errorf("LastSuccessful after the third compaction = %v, %v", last, err)
	}
}

// TestCompactRetriesOverAConcurrentWrite: a record written while a
// compaction was built is not lost: the compaction's push is rejected, it
// takes the remote's value and compacts again.
func TestCompactRetriesOverAConcurrentWrite(t *testing.T) {
	e := newEnv(t, 6)
	compactFixture(t, e)
	clock := newFakeClock()
	s1, _ := e.open(t, e.clone(t), clock)
	if _, err := s1.History(bg, "web", 1); err != nil { // s1 has fetched
		t.Fatal(err)
	}
	s2, _ := e.open(t, e.clone(t), clock)
	rec := newRecord("web", e.commits[5])
	if err := s2.Begin(bg, rec); err != nil {
		t.Fatal(err)
	}
	res, err := s1.Compact(bg, "web", CompactOptions{Keep: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.Folded != 49 { // the new record pushed record 50 out of the latest 100
		t.Errorf("folded %d", res.Folded)
	}
	s3, _ := e.open(t, e.clone(t), clock)
	if got, err := s3.Get(bg, "web", rec.ID); err != nil || got.Status != StatusRunning {
		t.Errorf("the concurrent record after compaction: %v, %v", got, err)
	}
}
