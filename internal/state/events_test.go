package state

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

func TestEventKeyIsPipeCDs(t *testing.T) {
	// PipeCD: sha256 of the name then "/key:value" for each label by key.
	a := EventKey("img", map[string]string{"env": "prod", "app": "web"})
	b := EventKey("img", map[string]string{"app": "web", "env": "prod"})
	if a != b {
		t.Fatal("label order changed the key")
	}
	if a == EventKey("img", map[string]string{"env": "prod"}) || a == EventKey("img", nil) {
		t.Fatal("labels must match exactly")
	}
	want := sha256.Sum256([]byte("img/app:web/env:prod"))
	if a != hex.EncodeToString(want[:]) {
		t.Fatalf("key %s", a)
	}
}

func TestRegisterAndReadEvents(t *testing.T) {
	e := newEnv(t, 2)
	clock := newFakeClock()
	producer, _ := e.open(t, e.clone(t), clock)
	for i, v := range []string{"v1", "v2"} {
		ev := &RegisteredEvent{Name: "web-image", Labels: map[string]string{"env": "prod"}, Value: v,
			Contexts: map[string]string{"Source": fmt.Sprint(i)}, Commit: &EventCommit{Hash: "abc", URL: "https://x/commit/abc"}}
		if err := producer.RegisterEvent(bg, ev, ""); err != nil {
			t.Fatal(err)
		}
		if ev.On != e.commits[1] || ev.ID == "" {
			t.Fatalf("event noted on %s (id %q), want main's tip %s", ev.On, ev.ID, e.commits[1])
		}
	}
	// Plain git reads it on main's tip.
	out := gitserver.Git(t, e.bare, "notes", "--ref=pipe/events", "show", e.commits[1])
	if strings.Count(out, `"type":"event"`) != 2 || !strings.Contains(out, `"value":"v2"`) {
		t.Fatalf("git notes show:\n%s", out)
	}

	watcher, _ := e.open(t, e.clone(t), clock)
	log, err := watcher.Events(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Events) != 2 || log.Events[0].Value != "v2" || log.Events[0].On != e.commits[1] || log.Events[0].Commit.URL != "https://x/commit/abc" {
		t.Fatalf("events: %+v", log.Events)
	}
	h := &Handling{Event: log.Events[0].ID, Watcher: "app web eventWatcher[0]", Status: HandledSuccess, Commit: e.commits[0], At: clock.Now(), On: log.Events[0].On}
	o := &Handling{Event: log.Events[1].ID, Watcher: "app web eventWatcher[0]", Status: HandledOutdated, At: clock.Now(), On: log.Events[1].On}
	if err := watcher.RecordHandlings(bg, []*Handling{h, o}); err != nil {
		t.Fatal(err)
	}
	again, _ := e.open(t, e.clone(t), clock)
	log, err = again.Events(bg)
	if err != nil {
		t.Fatal(err)
	}
	if got := log.Handling(log.Events[0].ID, "app web eventWatcher[0]"); got == nil || got.Status != HandledSuccess {
		t.Fatalf("handling of the newest: %+v", got)
	}
	if got := log.Handling(log.Events[1].ID, "app web eventWatcher[0]"); got == nil || got.Status != HandledOutdated {
		t.Fatalf("handling of the older: %+v", got)
	}
}

// Two producers registering at once, with no retry budget problem: every
// event lands (the CAS push merges).
func TestRegisterEventsConcurrently(t *testing.T) {
	e := newEnv(t, 1)
	clock := newFakeClock()
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		s, _ := e.open(t, e.clone(t), clock)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.RegisterEvent(bg, &RegisteredEvent{Name: "img", Value: fmt.Sprintf("v%d", i)}, "main")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s, _ := e.open(t, e.clone(t), clock)
	log, err := s.Events(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Events) != n {
		t.Fatalf("%d events read, want %d", len(log.Events), n)
	}
}

func TestDecodeEventNoteSkipsBadLines(t *testing.T) {
	var warns []string
	n := decodeEventNote([]byte("{\"type\":\"event\",\"id\":\"1\",\"name\":\"a\",\"value\":\"x\"}\nnot json\n{\"type\":\"other\"}\n{\"type\":\"handling\",\"event\":\"1\"}\n"),
		func(m string) { warns = append(warns, m) })
	if len(n.events) != 1 || len(n.handlings) != 0 || len(warns) != 3 {
		t.Fatalf("events %d handlings %d warnings %q", len(n.events), len(n.handlings), warns)
	}
	data, err := n.encode()
	if err != nil || string(data) != "{\"type\":\"event\",\"id\":\"1\",\"name\":\"a\",\"value\":\"x\",\"createdAt\":\"0001-01-01T00:00:00Z\"}\n" {
		t.Fatalf("encode: %q %v", data, err)
	}
}

func TestCommitAndPushBranch(t *testing.T) {
	e := newEnv(t, 2)
	clock := newFakeClock()
	s, _ := e.open(t, e.clone(t), clock)
	tip, err := s.FetchBranch(bg, "")
	if err != nil {
		t.Fatal(err)
	}
	if tip.Name != "main" || tip.Hash.String() != e.commits[1] {
		t.Fatalf("tip %+v", tip)
	}
	data, err := s.ReadFile(tip.Hash, "app.txt")
	if err != nil || string(data) != "v1\n" {
		t.Fatalf("read: %q %v", data, err)
	}
	if _, err := s.ReadFile(tip.Hash, "nope/x.yaml"); !errors.Is(err, ErrFileNotFound) {
		t.Fatalf("missing file: %v", err)
	}
	next, err := s.CommitFiles(tip.Hash, map[string][]byte{"app.txt": []byte("v2\n")}, "bump")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitFiles(tip.Hash, map[string][]byte{"other.txt": []byte("x")}, "x"); !errors.Is(err, ErrFileNotFound) {
		t.Fatalf("commit of a missing file: %v", err)
	}
	// Someone else pushes first: the compare-and-swap says so.
	other := e.clone(t)
	gitserver.Git(t, other, "commit", "--allow-empty", "-qm", "moved")
	gitserver.Git(t, other, "push", "-q", e.srv.AuthURL("repo.git", testToken), "main")
	if err := s.PushBranch(bg, "main", tip.Hash, next); !errors.Is(err, ErrBranchMoved) {
		t.Fatalf("push on a moved branch: %v", err)
	}
	tip, err = s.FetchBranch(bg, "main")
	if err != nil {
		t.Fatal(err)
	}
	next, err = s.CommitFiles(tip.Hash, map[string][]byte{"app.txt": []byte("v2\n")}, "bump")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PushBranch(bg, "main", tip.Hash, next); err != nil {
		t.Fatal(err)
	}
	if got := gitserver.Git(t, e.bare, "show", "main:app.txt"); got != "v2\n" {
		t.Fatalf("remote main:app.txt = %q", got)
	}
	// A new branch from main: only the new commit's objects travel.
	pr, err := s.CommitFiles(next, map[string][]byte{"app.txt": []byte("v3\n")}, "pr")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PushBranch(bg, "pipe-event/img", plumbing.ZeroHash, pr, next); err != nil {
		t.Fatal(err)
	}
	if h, err := s.RemoteBranch(bg, "pipe-event/img"); err != nil || h != pr {
		t.Fatalf("remote pr branch %s %v", h, err)
	}
	if got := gitserver.Git(t, e.bare, "log", "--format=%s", "-1", "pipe-event/img"); got != "pr\n" {
		t.Fatalf("branch log %q", got)
	}
}

func TestPruneEventsKeepsTheNewestOfEachIdentity(t *testing.T) {
	e := newEnv(t, 1)
	clock := newFakeClock()
	s, _ := e.open(t, e.clone(t), clock)
	var evs []*RegisteredEvent
	for i, name := range []string{"a", "a", "b", "a"} {
		ev := &RegisteredEvent{Name: name, Value: fmt.Sprint(i)}
		if err := s.RegisterEvent(bg, ev, ""); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
		clock.Advance(24 * time.Hour)
	}
	h := &Handling{Event: evs[0].ID, Watcher: "w", Status: HandledOutdated, At: clock.Now(), On: evs[0].On}
	if err := s.RecordHandlings(bg, []*Handling{h}); err != nil {
		t.Fatal(err)
	}
	// Cut after the third: a's first two go; b (its only one) stays, a's newest stays.
	n, err := s.PruneEvents(bg, evs[2].CreatedAt.Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	other, _ := e.open(t, e.clone(t), clock)
	log, err := other.Events(bg)
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, ev := range log.Events {
		vals = append(vals, ev.Value)
	}
	if strings.Join(vals, ",") != "3,2" || len(log.Handlings) != 0 {
		t.Fatalf("left %v, handlings %v", vals, log.Handlings)
	}
}
