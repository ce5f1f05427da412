package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

func recordJSON(t *testing.T, app, id, commit string, st DeploymentStatus, indent bool) string {
	t.Helper()
	r := newRecord(app, commit)
	r.SchemaVersion, r.Revision, r.ID, r.Status = 1, 1, id, st
	r.CreatedAt = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r.UpdatedAt = r.CreatedAt
	var b []byte
	if indent {
		b, _ = json.MarshalIndent(r, "", "  ")
	} else {
		b, _ = json.Marshal(r)
	}
	return string(b)
}

// TestCorruptAndHandEditedNotes: broken lines, free text, a future schema,
// pretty-printed JSON, wrong-typed fields, objects without an id. Every
// record that can be read is read, every problem is a warning naming the
// note and line, and nothing is lost when pipe writes the note again.
func TestCorruptAndHandEditedNotes(t *testing.T) {
	e := newEnv(t, 6)
	work := e.clone(t)
	c := e.commits
	notes := func(args ...string) {
		gitserver.Git(t, work, append([]string{"notes", "--ref=pipe/apps/web"}, args...)...)
	}
	future := fmt.Sprintf(`{"schemaVersion":2,"id":"F-1","revision":4,"app":"web","target":{"hash":"%s"},"status":"SUCCEEDED","createdAt":"2025-01-02T00:00:00Z","updatedAt":"2025-01-02T00:00:00Z","newThing":{"x":[1,2]}}`, c[1])
	wrongTyped := fmt.Sprintf(`{"schemaVersion":1,"id":"W-1","revision":"three","app":"web","target":{"hash":"%s"},"stages":"oops","status":"FAILED","createdAt":"2025-01-03T00:00:00Z"}`, c[3])
	notes("add", "-m", recordJSON(t, "web", "V-1", c[0], StatusSucceeded, false), c[0])
	notes("append", "-m", `{"id": "BROKEN", "status": `, c[0])
	notes("append", "-m", "rolled back by hand\nsee the incident doc", c[0])
	notes("add", "-m", future, c[1])
	notes("add", "-m", recordJSON(t, "web", "P-1", c[2], StatusSucceeded, true), c[2])
	notes("add", "-m", wrongTyped, c[3])
	notes("add", "-m", `{"foo": 1}`, c[4])
	gitserver.Git(t, work, "push", "--quiet", e.srv.AuthURL("repo.git", testToken), "refs/notes/pipe/*:refs/notes/pipe/*")

	s, notices := e.open(t, e.clone(t), newFakeClock())
	h, err := s.History(bg, "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]*Record{}
	for _, r := range h {
		ids[r.ID] = r
	}
	for _, id := range []string{"V-1", "F-1", "P-1", "W-1"} {
		if ids[id] == nil {
			t.Errorf("record %s not read; read %v", id, keys(ids))
		}
	}
	if len(ids) != 4 {
		t.Errorf("read %v", keys(ids))
	}
	if r := ids["F-1"]; r == nil || !r.FutureSchema || r.Status != StatusSucceeded || r.Revision != 4 {
		t.Errorf("future record = %+v", r)
	}
	if r := ids["W-1"]; r == nil || r.Status != StatusFailed || r.Revision != 0 {
		t.Errorf("wrong-typed record = %+v", r)
	}
	ws := strings.Join(warnings(*notices), "\n")
	for _, want := range []string{"BROKEN", "rolled back by hand", "schemaVersion 2", "revision, stages", "without a record id"} {
		if !strings.Contains(ws, want) {
			t.Errorf("no warning mentioning %q in:\n%s", want, ws)
		}
	}
	if !strings.Contains(ws, "note on "+c[0]+": line 3") {
		t.Errorf("warnings should name the note and line:\n%s", ws)
	}

	// Writing on those notes keeps everything that was there.
	for _, commit := range []string{c[0], c[1], c[3]} {
		if err := s.Begin(bg, newRecord("web", commit)); err != nil {
			t.Fatal(err)
		}
	}
	show := func(commit string) string {
		return gitserver.Git(t, e.bare, "notes", "--ref=pipe/apps/web", "show", commit)
	}
	if n := show(c[0]); !strings.Contains(n, `{"id": "BROKEN", "status":`) || !strings.Contains(n, "rolled back by hand\nsee the incident doc") {
		t.Errorf("note 0 lost text:\n%s", n)
	}
	if n := show(c[1]); !strings.Contains(n, future+"\n") {
		t.Errorf("future record not kept byte for byte:\n%s", n)
	}
	if n := show(c[3]); !strings.Contains(n, wrongTyped+"\n") {
		t.Errorf("wrong-typed record not kept byte for byte:\n%s", n)
	}
	// A future record cannot be updated by this version.
	err = s.Update(bg, ids["F-1"])
	if !errors.Is(err, ErrFutureSchema) {
		t.Errorf("Update of a future record: %v", err)
	}
}

// TestNotesRefNotANotesTree: a notes ref pointing at a blob, and one whose
// commit's tree holds names that are not notes.
func TestNotesRefNotANotesTree(t *testing.T) {
	e := newEnv(t, 3)
	work := e.clone(t)
	c := e.commits

	// web: the ref points at a blob.
	blob := strings.TrimSpace(gitIn(t, work, "garbage\n", "hash-object", "-w", "--stdin"))
	gitserver.Git(t, work, "update-ref", "refs/notes/pipe/apps/web", blob)
	// api: a commit whose tree mixes a valid note with junk names.
	rec := recordJSON(t, "api", "A-1", c[0], StatusSucceeded, false)
	recBlob := strings.TrimSpace(gitIn(t, work, rec+"\n", "hash-object", "-w", "--stdin"))
	txt := strings.TrimSpace(gitIn(t, work, "hello\n", "hash-object", "-w", "--stdin"))
	subTree := strings.TrimSpace(gitIn(t, work, "100644 blob "+txt+"\tinner\n", "mktree"))
	tree := strings.TrimSpace(gitIn(t, work, fmt.Sprintf("100644 blob %s\t%s\n100644 blob %s\tREADME.md\n040000 tree %s\tzz\n040000 tree %s\t%s\n",
		recBlob, c[0], txt, subTree, subTree, c[1]), "mktree"))
	commit := strings.TrimSpace(gitserver.Git(t, work, "commit-tree", tree, "-m", "hand made"))
	gitserver.Git(t, work, "update-ref", "refs/notes/pipe/apps/api", commit)
	gitserver.Git(t, work, "push", "--quiet", e.srv.AuthURL("repo.git", testToken), "refs/notes/pipe/*:refs/notes/pipe/*")

	s, notices := e.open(t, e.clone(t), newFakeClock())
	h, err := s.History(bg, "web", 0)
	if err != nil || len(h) != 0 {
		t.Fatalf("History(web) = %v, %v", h, err)
	}
	if ws := strings.Join(warnings(*notices), "\n"); !strings.Contains(ws, "points at a blob") {
		t.Errorf("no warning about the blob ref:\n%s", ws)
	}
	err = s.Begin(bg, newRecord("web", c[2]))
	if !errors.Is(err, ErrCorruptRef) {
		t.Errorf("Begin on a blob ref: %v, want ErrCorruptRef", err)
	}
	var se *Error
	if !errors.As(err, &se) || !strings.Contains(se.Hint, "update-ref -d") {
		t.Errorf("error should say how to move the ref aside: %#v", err)
	}
	if got := strings.TrimSpace(gitserver.Git(t, e.bare, "rev-parse", "refs/notes/pipe/apps/web")); got != blob {
		t.Errorf("the remote blob ref was overwritten")
	}

	*notices = nil
	h, err = s.History(bg, "api", 0)
	if err != nil || len(h) != 1 || h[0].ID != "A-1" {
		t.Fatalf("History(api) = %v, %v", h, err)
	}
	ws := strings.Join(warnings(*notices), "\n")
	for _, want := range []string{"README.md", "zz", c[1]} {
		if !strings.Contains(ws, want) {
			t.Errorf("no warning about %s:\n%s", want, ws)
		}
	}
	if err := s.Begin(bg, newRecord("api", c[2])); err != nil {
		t.Fatal(err)
	}
	ls := gitserver.Git(t, e.bare, "ls-tree", "-r", "--name-only", "refs/notes/pipe/apps/api")
	for _, want := range []string{"README.md", "zz/inner", c[1] + "/inner", c[0], c[2]} {
		if !strings.Contains(ls, want) {
			t.Errorf("entry %s lost after pipe's write:\n%s", want, ls)
		}
	}
}

func gitIn(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitserver.Env()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return string(out)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
