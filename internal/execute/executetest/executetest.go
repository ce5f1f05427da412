// Package executetest runs the stages of a platform through the real
// engine in tests, over a record store in memory.
package executetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Store keeps every written version of one record.
type Store struct {
	mu       sync.Mutex
	versions []*state.Record
	current  *state.Record
}

// Update implements execute.Store.
func (s *Store) Update(_ context.Context, rec *state.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Revision++
	s.versions = append(s.versions, rec.Clone())
	s.current = rec.Clone()
	return nil
}

// Get implements execute.Store.
func (s *Store) Get(_ context.Context, app, id string) (*state.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == nil || s.current.ID != id {
		return nil, state.ErrNotFound
	}
	return s.current.Clone(), nil
}

// Current is the record as last written.
func (s *Store) Current() *state.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// Statuses lists the deployment statuses written, without repeats.
func (s *Store) Statuses() []state.DeploymentStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []state.DeploymentStatus
	for _, v := range s.versions {
		if len(out) == 0 || out[len(out)-1] != v.Status {
			out = append(out, v.Status)
		}
	}
	return out
}

// Events collects what the engine emitted.
type Events struct {
	mu     sync.Mutex
	events []execute.Event
}

// All returns the events so far.
func (e *Events) All() []execute.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]execute.Event(nil), e.events...)
}

// Text is the events one per line, "STAGE_ID: message", warnings marked
// "WARN ".
func (e *Events) Text() string {
	var b strings.Builder
	for _, ev := range e.All() {
		if ev.Warning {
			b.WriteString("WARN ")
		}
		b.WriteString(ev.StageID + ": " + ev.Message + "\n")
	}
	return b.String()
}

// NewEngine is an engine over store running pf's stages, polling fast.
func NewEngine(store *Store, pf execute.Platform) (*execute.Engine, *Events) {
	events := &Events{}
	return &execute.Engine{Store: store, Platform: pf, Now: time.Now, PollInterval: 10 * time.Millisecond,
		Events: func(ev execute.Event) {
			events.mu.Lock()
			events.events = append(events.events, ev)
			events.mu.Unlock()
		}}, events
}

// NewDeployment is a deployment of app by p, recorded as D1.
func NewDeployment(app *config.App, p *plan.Plan) *execute.Deployment {
	rec := &state.Record{ID: "D1", App: app.Name, Target: state.Commit{Hash: strings.Repeat("a", 40)},
		Strategy: state.StrategyPipeline, Stages: execute.NewRecordStages(p), Status: state.StatusRunning}
	return &execute.Deployment{App: app, Plan: p, Record: rec}
}

// Stage returns the record's stage id, failing the test when it has none.
func Stage(t testing.TB, rec *state.Record, id string) *state.Stage {
	t.Helper()
	for i := range rec.Stages {
		if rec.Stages[i].ID == id {
			return &rec.Stages[i]
		}
	}
	t.Fatalf("the record has no stage %s: %s", id, Statuses(rec))
	return nil
}

// Statuses is the record's stages as "id=STATUS ...".
func Statuses(rec *state.Record) string {
	var parts []string
	for _, s := range rec.Stages {
		parts = append(parts, s.ID+"="+string(s.Status))
	}
	return strings.Join(parts, " ")
}

// Find returns the record's stage id, nil when it has none.
func Find(rec *state.Record, id string) *state.Stage {
	if rec == nil {
		return nil
	}
	for i := range rec.Stages {
		if rec.Stages[i].ID == id {
			return &rec.Stages[i]
		}
	}
	return nil
}

// PlanOf lays out the pipeline of app as the planner does: its stages
// (ids stage-N unless configured), skip reasons by index, then ROLLBACK
// and the SCRIPT_RUN_ROLLBACK stages when autoRollback.
func PlanOf(app *config.App, autoRollback bool, skip map[int]string) *plan.Plan {
	p := &plan.Plan{AutoRollback: autoRollback, Strategy: plan.StrategyPipeline}
	for i, s := range app.Spec.Generic().Pipeline.Stages {
		id := s.ID
		if id == "" {
			id = fmt.Sprintf("stage-%d", i)
		}
		p.Stages = append(p.Stages, plan.Stage{ID: id, Name: s.Name, Index: i, Timeout: s.Timeout, Skip: skip[i]})
	}
	if autoRollback {
		p.Stages = append(p.Stages, plan.Stage{ID: "Rollback", Name: plan.StageRollback, Index: -1, Predefined: true, Rollback: true})
		for i, s := range app.Spec.Generic().Pipeline.Stages {
			if o, ok := s.With.(*config.ScriptRunStageOptions); ok && o.OnRollback != "" {
				p.Stages = append(p.Stages, plan.Stage{ID: "ScriptRunRollback-" + p.Stages[i].ID, Name: plan.StageScriptRunRollback,
					Index: -1, Predefined: true, Rollback: true, RollbackOf: p.Stages[i].ID})
			}
		}
	}
	return p
}
