// Package deploytest runs a platform's deployments through the real
// engine in tests: plan, pre-flight, the platform's runner, the engine
// over an in-memory record store.
package deploytest

import (
	"context"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/execute/executetest"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Deploy plans head with p (running is the last successful deployment,
// nil for a first one), runs the pre-flight checks, then the engine. It
// returns the record, the plan and the engine's error; a pre-flight
// error is returned with a nil record. A planning error fails the test.
// The engine's events are logged.
func Deploy(ctx context.Context, t testing.TB, p deploy.Platform, app *config.App, head, running *deploy.Revision) (*state.Record, *plan.Plan, error) {
	t.Helper()
	req := deploy.PlanRequest{App: app, Head: head, Running: running,
		Input:    plan.Input{App: plan.AppOf(app), Head: head.Commit, Now: time.Now()},
		Revision: func(string) (*deploy.Revision, error) { return running, nil }}
	if running != nil {
		c := running.Commit
		req.Input.Running = &c
	}
	pl, prep, err := p.Plan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer prep.Close()
	if err := prep.PreFlight(ctx, pl); err != nil {
		return nil, pl, err
	}
	runner, err := prep.Runner(ctx, pl, deploy.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, runner)
	err = e.Run(ctx, executetest.NewDeployment(app, pl))
	t.Logf("events:\n%s", events.Text())
	return store.Current(), pl, err
}
