// Package deploytest runs a platform's deployments through the real
// engine in tests: plan, pre-flight, the platform's runner, the engine
// over an in-memory record store.
package deploytest

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
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
	r := run(ctx, p, app, head, running)
	if r.setupErr != nil {
		t.Fatal(r.setupErr)
	}
	if r.events != nil {
		t.Logf("events:\n%s", r.events.Text())
	}
	return r.rec, r.pl, r.err
}

// Succeed deploys as Deploy does, logging nothing (a benchmark's
// iteration): any error, or a record other than succeeded, is returned
// with the engine's events.
func Succeed(ctx context.Context, p deploy.Platform, app *config.App, head, running *deploy.Revision) error {
	r := run(ctx, p, app, head, running)
	switch {
	case r.setupErr != nil:
		return r.setupErr
	case r.events == nil:
		return r.err
	case r.err != nil:
		return fmt.Errorf("%w\n%s", r.err, r.events.Text())
	case r.rec.Status != state.StatusSucceeded:
		return fmt.Errorf("status %s\n%s", r.rec.Status, r.events.Text())
	}
	return nil
}

// result is one deployment's: setupErr is planning's or the runner's
// construction's, err the pre-flight's or the engine's; events is nil
// unless the engine ran.
type result struct {
	rec      *state.Record
	pl       *plan.Plan
	events   *executetest.Events
	setupErr error
	err      error
}

func run(ctx context.Context, p deploy.Platform, app *config.App, head, running *deploy.Revision) result {
	req := deploy.PlanRequest{App: app, Head: head, Running: running,
		Input:    plan.Input{App: plan.AppOf(app), Head: head.Commit, Now: time.Now()},
		Revision: func(string) (*deploy.Revision, error) { return running, nil }}
	if running != nil {
		c := running.Commit
		req.Input.Running = &c
	}
	pl, prep, err := p.Plan(ctx, req)
	if err != nil {
		return result{setupErr: err}
	}
	defer prep.Close()
	if err := prep.PreFlight(ctx, pl); err != nil {
		return result{pl: pl, err: err}
	}
	runner, err := prep.Runner(ctx, pl, deploy.RunOptions{})
	if err != nil {
		return result{pl: pl, setupErr: err}
	}
	store := &executetest.Store{}
	e, events := executetest.NewEngine(store, runner)
	err = e.Run(ctx, executetest.NewDeployment(app, pl))
	return result{rec: store.Current(), pl: pl, events: events, err: err}
}

// Revision is an application tree at one commit: the files (by name, one
// of them app.pipecd.yaml, the app's config) in dir under a temporary
// root. The app is named dir, of kind.
func Revision(tb testing.TB, hash, dir string, kind config.Kind, files map[string]string) (*deploy.Revision, *config.App) {
	tb.Helper()
	root := tb.TempDir()
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		tb.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(root, dir, name), []byte(data), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	file := path.Join(dir, "app.pipecd.yaml")
	f := config.ParseFile(file, []byte(files["app.pipecd.yaml"]))
	if !f.Valid() {
		tb.Fatalf("app config: %v", f.Diags)
	}
	app := &config.App{Name: dir, Kind: kind, Dir: dir, File: file, Spec: f.Spec.(config.AppSpec)}
	rev := deploy.NewRevision(plan.Commit{Hash: hash}, func(context.Context) (*deploy.Tree, error) {
		return &deploy.Tree{Root: root, App: app}, nil
	})
	return rev, app
}
