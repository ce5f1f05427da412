package cli

import (
	"context"
	"testing"

	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/notify"
	"github.com/gitops-pipe/pipe/internal/state"
)

type sinkFunc func(notify.Event)

func (f sinkFunc) Notify(ev notify.Event) { f(ev) }

// memStore keeps the records a sync writes.
type memStore struct {
	deploy.Store
	running []*state.Record
	written []*state.Record
}

func (m *memStore) Begin(_ context.Context, r *state.Record) error {
	m.written = append(m.written, r.Clone())
	return nil
}
func (m *memStore) Update(_ context.Context, r *state.Record) error {
	m.written = append(m.written, r.Clone())
	return nil
}
func (m *memStore) Running(context.Context, string) ([]*state.Record, error) { return m.running, nil }

// The store a sync writes through sends each transition once, records
// where the Slack message of the deployment is, and takes a resumed
// record as read for its baseline.
func TestNotifyStore(t *testing.T) {
	var got []notify.Type
	sink := sinkFunc(func(ev notify.Event) { got = append(got, ev.Type) })
	inner := &memStore{}
	threads := func(id string) map[string]string { return map[string]string{"slack": "C1/1700000000.000100"} }
	s := newNotifyStore(inner, sink, notify.App{Name: "web"}, notify.Context{}, threads)
	ctx := context.Background()
	rec := &state.Record{ID: "d1", App: "web", Status: state.StatusRunning, Stages: []state.Stage{{ID: "s", Name: "K8S_SYNC", Status: state.StageNotStarted}}}
	if err := s.Begin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.Stages[0].Status = state.StageRunning
	_ = s.Update(ctx, rec)
	_ = s.Update(ctx, rec) // unchanged
	rec.Stages[0].Status, rec.Status = state.StageSucceeded, state.StatusSucceeded
	_ = s.Update(ctx, rec)
	want := []notify.Type{notify.DeploymentTriggered, notify.DeploymentPlanned, notify.DeploymentStarted,
		notify.StageStarted, notify.StageSucceeded, notify.DeploymentSucceeded}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	if last := inner.written[len(inner.written)-1]; last.Notifications["slack"] != "C1/1700000000.000100" {
		t.Errorf("the record keeps %v", last.Notifications)
	}

	// A resume: the record as read is the baseline; only what happens
	// next is sent.
	got = nil
	paused := &state.Record{ID: "d2", App: "web", Status: state.StatusWaitingApproval,
		Stages: []state.Stage{{ID: "w", Name: "WAIT_APPROVAL", Status: state.StageRunning}}}
	inner2 := &memStore{running: []*state.Record{paused}}
	s2 := newNotifyStore(inner2, sink, notify.App{Name: "web"}, notify.Context{}, nil)
	recs, _ := s2.Running(ctx, "web")
	r := recs[0].Clone()
	r.Status, r.Stages[0].Status = state.StatusRunning, state.StageSucceeded
	_ = s2.Update(ctx, r)
	if len(got) != 2 || got[0] != notify.DeploymentApproved || got[1] != notify.StageSucceeded {
		t.Errorf("after a resume: %v", got)
	}
}
