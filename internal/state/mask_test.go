package state

import (
	"context"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// Options.Mask masks secret values in every note, lock and commit message
// the store writes and pushes; a record written again compares equal to
// its stored, masked, version.
func TestMaskHook(t *testing.T) {
	const marker = "marker-SECRET-7f3a9c"
	ctx := context.Background()
	e := newEnv(t, 2)
	secrets := redact.NewSet()
	secrets.Add(marker)
	s, _ := e.open(t, e.clone(t), newFakeClock(), func(o *Options) { o.Mask = secrets.MaskBytes })

	rec := newRecord("web", e.commits[1])
	rec.Reason = "rendering failed: password \"" + marker + "\" rejected"
	rec.StrategyReason = "multi\nline " + marker
	if err := s.Begin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	// The same write again (a retry whose push had landed) is no conflict.
	if err := s.Update(ctx, rec); err != nil {
		t.Fatalf("update of a record holding a masked value: %v", err)
	}
	l, err := s.Lock(ctx, "web", LockRequest{Owner: "job " + marker, DeploymentID: rec.ID})
	if err != nil {
		t.Fatal(err)
	}

	note := gitserver.Git(t, e.bare, "notes", "--ref=pipe/apps/web", "show", e.commits[1])
	if strings.Contains(note, marker) || strings.Contains(note, "7f3a9c") {
		t.Error("the pushed note holds the secret value")
	}
	if !strings.Contains(note, `password \"***\" rejected`) {
		t.Errorf("the note does not hold the masked reason")
	}
	all := gitserver.Git(t, e.bare, "log", "--all", "-p", "--format=%B")
	if strings.Contains(all, "7f3a9c") {
		t.Error("a pushed commit or blob holds the secret value")
	}
	if !strings.Contains(all, `"owner": "job ***"`) {
		t.Error("the pushed lock does not hold the masked owner")
	}
	got, err := s.Get(ctx, "web", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Reason != `rendering failed: password "***" rejected` || got.Revision != 2 {
		t.Errorf("read back: reason masked %t, revision %d", !strings.Contains(got.Reason, marker), got.Revision)
	}
	if err := s.Unlock(ctx, l); err != nil {
		t.Fatal(err)
	}
}
