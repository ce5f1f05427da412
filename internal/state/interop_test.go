package state

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// TestPipeRecordsReadByGit: what pipe writes, plain git reads, on the
// remote and in a clone that fetched the notes.
func TestPipeRecordsReadByGit(t *testing.T) {
	e := newEnv(t, 5)
	s, _ := e.open(t, e.clone(t), newFakeClock())
	c3, c4 := e.commits[3], e.commits[4]
	r1, r2, r3 := newRecord("web", c4), newRecord("web", c4), newRecord("web", c3)
	r4 := newRecord("my/app.v2", c4)
	for _, r := range []*Record{r1, r2, r3, r4} {
		if err := s.Begin(bg, r); err != nil {
			t.Fatal(err)
		}
	}
	r1.Status = StatusSucceeded
	if err := s.Update(bg, r1); err != nil {
		t.Fatal(err)
	}

	work := e.clone(t)
	gitserver.Git(t, work, "fetch", "--quiet", e.srv.AuthURL("repo.git", testToken), "refs/notes/pipe/*:refs/notes/pipe/*")
	for _, dir := range []string{e.bare, work} {
		show := gitserver.Git(t, dir, "notes", "--ref=pipe/apps/web", "show", c4)
		lines := strings.Split(strings.TrimSpace(show), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: git notes show: want 2 lines, got:\n%s", dir, show)
		}
		ids := map[string]bool{}
		for _, l := range lines {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("line is not JSON: %q", l)
			}
			ids[rec["id"].(string)] = true
			if rec["schemaVersion"].(float64) != 1 {
				t.Errorf("schemaVersion = %v", rec["schemaVersion"])
			}
		}
		if !ids[r1.ID] || !ids[r2.ID] {
			t.Errorf("ids %v, want %s and %s", ids, r1.ID, r2.ID)
		}
		log := gitserver.Git(t, dir, "log", "--notes=pipe/apps/web", "--format=%H %N", "main")
		if !strings.Contains(log, r3.ID) || !strings.Contains(log, r1.ID) {
			t.Errorf("git log --notes misses records:\n%s", log)
		}
		all := gitserver.Git(t, dir, "log", "--notes=pipe/apps/*", "--format=%N", "-1", c4)
		if !strings.Contains(all, r4.ID) || !strings.Contains(all, r2.ID) {
			t.Errorf("git log --notes='pipe/apps/*' misses records:\n%s", all)
		}
		enc := gitserver.Git(t, dir, "notes", "--ref=pipe/apps/my%2Fapp.v2", "show", c4)
		if !strings.Contains(enc, r4.ID) {
			t.Errorf("encoded app ref: %s", enc)
		}
		if out := gitserver.Git(t, dir, "notes", "--ref=pipe/apps/web", "list"); len(strings.Fields(out)) != 4 {
			t.Errorf("git notes list: %s", out)
		}
	}
	if out, err := gitserver.GitE(e.bare, "fsck", "--strict", "--no-dangling"); err != nil {
		t.Errorf("git fsck: %v\n%s", err, out)
	}
}

// TestGitNotesReadByPipe: notes written by `git notes add/append`, in a
// fanned-out tree of 260 notes and in a flat one, are read by pipe; pipe's
// write on top keeps what git wrote.
func TestGitNotesReadByPipe(t *testing.T) {
	e := newEnv(t, 260)
	work := e.clone(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	want := map[string]DeploymentStatus{}
	mk := func(app string, i int, c string, st DeploymentStatus) string {
		r := newRecord(app, c)
		r.SchemaVersion, r.Revision, r.Status = 1, 1, st
		r.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		r.UpdatedAt = r.CreatedAt
		r.ID = NewID(r.CreatedAt)
		want[r.ID] = st
		b, _ := json.Marshal(r)
		return string(b)
	}
	for i, c := range e.commits {
		st := StatusSucceeded
		if i%7 == 0 {
			st = StatusFailed
		}
		gitserver.Git(t, work, "notes", "--ref=pipe/apps/api", "add", "-m", mk("api", i, c, st), c)
		if i%10 == 0 {
			// A second deployment of the same commit, appended.
			gitserver.Git(t, work, "notes", "--ref=pipe/apps/api", "append", "-m", mk("api", i+1000, c, StatusCancelled), c)
		}
	}
	gitserver.Git(t, work, "notes", "--ref=pipe/apps/api", "append", "-m", "deployed by hand, ask alice", e.commits[5])
	for i := 0; i < 5; i++ {
		gitserver.Git(t, work, "notes", "--ref=pipe/apps/small", "add", "-m", mk("small", i, e.commits[i], StatusSucceeded), e.commits[i])
	}
	if top := gitserver.Git(t, work, "ls-tree", "--name-only", "refs/notes/pipe/apps/api"); len(strings.Fields(top)[0]) != 2 {
		t.Fatalf("expected git to fan out 260 notes, tree:\n%s", top)
	}
	if top := gitserver.Git(t, work, "ls-tree", "--name-only", "refs/notes/pipe/apps/small"); len(strings.Fields(top)[0]) != 40 {
		t.Fatalf("expected a flat tree for 5 notes:\n%s", top)
	}
	gitserver.Git(t, work, "push", "--quiet", e.srv.AuthURL("repo.git", testToken), "refs/notes/pipe/*:refs/notes/pipe/*")

	s, notices := e.open(t, e.clone(t), newFakeClock())
	got := map[string]DeploymentStatus{}
	for _, app := range []string{"api", "small"} {
		h, err := s.History(bg, app, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range h {
			if _, dup := got[r.ID]; dup {
				t.Errorf("record %s read twice", r.ID)
			}
			got[r.ID] = r.Status
			if i > 0 && h[i-1].CreatedAt.Before(r.CreatedAt) {
				t.Errorf("history not newest first at %d", i)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("read %d records, wrote %d", len(got), len(want))
	}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("record %s: status %q, want %q", id, got[id], st)
		}
	}
	if w := warnings(*notices); len(w) != 1 || !strings.Contains(w[0], "ask alice") {
		t.Errorf("want one warning about the hand-written line, got %q", w)
	}
	h50, _ := s.History(bg, "api", 50)
	if len(h50) != 50 {
		t.Errorf("History limit 50 returned %d", len(h50))
	}
	last, err := s.LastSuccessful(bg, "api")
	if err != nil || last.Status != StatusSucceeded || last.Target.Hash != e.commits[258] {
		t.Errorf("LastSuccessful = %+v, %v", last, err)
	}

	// pipe writes on the commit whose note has the hand-written line.
	r := newRecord("api", e.commits[5])
	if err := s.Begin(bg, r); err != nil {
		t.Fatal(err)
	}
	show := gitserver.Git(t, e.bare, "notes", "--ref=pipe/apps/api", "show", e.commits[5])
	if !strings.Contains(show, "ask alice") || !strings.Contains(show, r.ID) || strings.Count(show, `"schemaVersion"`) != 2 {
		t.Errorf("note after pipe's write:\n%s", show)
	}
	if n := len(strings.Split(strings.TrimSpace(gitserver.Git(t, e.bare, "notes", "--ref=pipe/apps/api", "list")), "\n")); n != 260 {
		t.Errorf("git notes list: %d notes, want 260", n)
	}
	if top := gitserver.Git(t, e.bare, "ls-tree", "--name-only", "refs/notes/pipe/apps/api"); len(strings.Fields(top)[0]) != 2 {
		t.Errorf("pipe should keep the fan-out")
	}
	// git can keep appending to what pipe wrote, and pipe still reads it.
	apiRecords := len(want) - 5
	gitserver.Git(t, e.bare, "notes", "--ref=pipe/apps/api", "append", "-m", mk("api", 5000, e.commits[5], StatusSucceeded), e.commits[5])
	s2, _ := e.open(t, e.clone(t), newFakeClock())
	h, _ := s2.History(bg, "api", 0)
	if len(h) != apiRecords+2 {
		t.Errorf("after git append: %d records, want %d", len(h), apiRecords+2)
	}
}
