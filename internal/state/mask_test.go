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
	if err := s.put(ctx, rec, rec.UpdatedAt, false); err != nil {
		t.Fatalf("a retried write of a record holding a masked value: %v", err)
	}
	// An update of the record as read back keeps its changes.
	back, err := s.Get(ctx, "web", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	back.Status = StatusWaitingApproval
	if err := s.Update(ctx, back); err != nil {
		t.Fatalf("update of a record read back: %v", err)
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
	if got.Reason != `rendering failed: password "***" rejected` || got.Revision != 2 || got.Status != StatusWaitingApproval {
		t.Errorf("read back: reason masked %t, revision %d, status %s", !strings.Contains(got.Reason, marker), got.Revision, got.Status)
	}
	if err := s.Unlock(ctx, l); err != nil {
		t.Fatal(err)
	}

	// A record written before the value was a secret (or by another tool)
	// is masked when it is next written, and keeps its changes.
	plainDir := e.clone(t)
	plain, _ := e.open(t, plainDir, newFakeClock())
	old := newRecord("api", e.commits[0])
	old.Reason = "old " + marker
	if err := plain.Begin(ctx, old); err != nil {
		t.Fatal(err)
	}
	masked, _ := e.open(t, plainDir, newFakeClock(), func(o *Options) { o.Mask = secrets.MaskBytes })
	back, err = masked.Get(ctx, "api", old.ID)
	if err != nil {
		t.Fatal(err)
	}
	back.Status = StatusSucceeded
	if err := masked.Update(ctx, back); err != nil {
		t.Fatalf("update of a record stored unmasked: %v", err)
	}
	note = gitserver.Git(t, e.bare, "notes", "--ref=pipe/apps/api", "show", e.commits[0])
	if strings.Contains(note, "7f3a9c") || !strings.Contains(note, `"reason":"old ***"`) || !strings.Contains(note, `"status":"SUCCEEDED"`) {
		t.Error("the updated note is not the update, masked")
	}
}
