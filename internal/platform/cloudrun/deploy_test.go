package cloudrun

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/deploy/deploytest"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/execute/executetest"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/testenv/runemu"
)

type world struct {
	t   *testing.T
	emu *runemu.Emulator
	p   *Platform
}

func newWorld(t *testing.T) *world {
	t.Helper()
	emu, srv := runemu.Start(runemu.Options{ReadyDelay: 30 * time.Millisecond})
	t.Cleanup(srv.Close)
	env := map[string]string{"PIPE_CLOUDRUN_ENDPOINT": srv.URL, "PIPE_CLOUDRUN_PROJECT": emu.Project()}
	return &world{t: t, emu: emu, p: New(Options{Getenv: func(k string) string { return env[k] }, Poll: 10 * time.Millisecond})}
}

func (w *world) revision(hash, appYAML, svcYAML string) (*deploy.Revision, *config.App) {
	w.t.Helper()
	root := w.t.TempDir()
	dir := filepath.Join(root, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	for name, data := range map[string]string{"app.pipecd.yaml": appYAML, "service.yaml": svcYAML} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	f := config.ParseFile("web/app.pipecd.yaml", []byte(appYAML))
	if !f.Valid() {
		w.t.Fatal(f.Diags)
	}
	app := &config.App{Name: "web", Kind: config.KindCloudRunApp, Dir: "web", File: "web/app.pipecd.yaml", Spec: f.Spec.(config.AppSpec)}
	return deploy.NewRevision(plan.Commit{Hash: hash}, func(context.Context) (*deploy.Tree, error) {
		return &deploy.Tree{Root: root, App: app}, nil
	}), app
}

func (w *world) deploy(ctx context.Context, head, running *deploy.Revision, app *config.App) (*state.Record, *plan.Plan, error) {
	w.t.Helper()
	return deploytest.Deploy(ctx, w.t, w.p, app, head, running)
}

// traffic is the service's served traffic: "web-v2-2222222:10,web-v1-1111111:90".
func (w *world) traffic() string {
	s, ok := w.emu.Service("web")
	if !ok {
		return "none"
	}
	var parts []string
	for _, t := range s.Traffic {
		if t.Percent > 0 {
			parts = append(parts, t.RevisionName+":"+itoa(t.Percent))
		}
	}
	return strings.Join(parts, ",")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

const waitApp = `apiVersion: pipecd.dev/v1beta1
kind: CloudRunApp
spec:
  name: web
  pipeline:
    stages:
      - name: CLOUDRUN_PROMOTE
        with: {percent: 10}
      - name: WAIT
        with: {duration: 1h}
      - name: CLOUDRUN_PROMOTE
        with: {percent: 100}
`

func (w *world) deployV1(app string) *deploy.Revision {
	w.t.Helper()
	rev, a := w.revision(strings.Repeat("1", 40), app, serviceYAML("gcr.io/p/web:v1", "            - {name: LOG_LEVEL, value: info}\n"))
	rec, pl, err := w.deploy(context.Background(), rev, nil, a)
	if err != nil {
		w.t.Fatal(err)
	}
	if pl.Strategy != plan.StrategyQuickSync || rec.Status != state.StatusSucceeded {
		w.t.Fatalf("%s %s", pl.Strategy, rec.Status)
	}
	return rev
}

func TestFirstDeploymentAndCanary(t *testing.T) {
	w := newWorld(t)
	running := w.deployV1(canaryApp)
	if got := w.traffic(); got != "web-v1-1111111:100" {
		t.Fatalf("traffic %s", got)
	}
	s, _ := w.emu.Service("web")
	if s.Labels[labelManagedBy] != "pipe" || s.Labels[labelCommitHash] != strings.Repeat("1", 40) || s.Labels[labelRevisionName] != "web-v1-1111111" {
		t.Errorf("labels %v", s.Labels)
	}
	head, app := w.revision(strings.Repeat("2", 40), canaryApp, serviceYAML("gcr.io/p/web:v2", "            - {name: LOG_LEVEL, value: debug}\n"))
	rec, pl, err := w.deploy(context.Background(), head, running, app)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Reason != "Sync with pipeline to update image from v1 to v2" {
		t.Errorf("reason %q", pl.Reason)
	}
	var traffics []string
	for _, st := range rec.Stages {
		if v := st.Metadata[metaTraffic]; v != "" {
			traffics = append(traffics, v)
		}
	}
	if got := strings.Join(traffics, " "); got != "web-v2-2222222:10,web-v1-1111111:90 web-v2-2222222:100" {
		t.Errorf("traffics %s", got)
	}
	if got := w.traffic(); got != "web-v2-2222222:100" {
		t.Errorf("traffic %s", got)
	}
}

func TestFailingRevisionRollsBack(t *testing.T) {
	w := newWorld(t)
	running := w.deployV1(canaryApp)
	w.emu.FailRevision("gcr.io/p/web:v2", "The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable.")
	head, app := w.revision(strings.Repeat("2", 40), canaryApp, serviceYAML("gcr.io/p/web:v2", ""))
	rec, _, err := w.deploy(context.Background(), head, running, app)
	var f *execute.Failure
	if !errors.As(err, &f) || !f.RolledBack {
		t.Fatalf("err %v %s", err, executetest.Statuses(rec))
	}
	if s := executetest.Stage(t, rec, "stage-0"); !strings.Contains(s.Reason, "failed to start and listen on the port") {
		t.Errorf("reason %q", s.Reason)
	}
	if got := w.traffic(); got != "web-v1-1111111:100" {
		t.Errorf("traffic %s", got)
	}
	if rb := executetest.Stage(t, rec, "Rollback"); rb.Metadata[metaLeftRevision] != "web-v2-2222222" {
		t.Errorf("rollback metadata %v", rb.Metadata)
	}
}

func TestCancelDuringWait(t *testing.T) {
	w := newWorld(t)
	running := w.deployV1(waitApp)
	head, app := w.revision(strings.Repeat("2", 40), waitApp, serviceYAML("gcr.io/p/web:v2", ""))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			if strings.Contains(w.traffic(), "web-v2-2222222:10") {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	rec, _, err := w.deploy(ctx, head, running, app)
	cancel()
	var f *execute.Failure
	if !errors.As(err, &f) || rec.Status != state.StatusCancelled || !f.RolledBack {
		t.Fatalf("err %v %s", err, executetest.Statuses(rec))
	}
	if got := w.traffic(); got != "web-v1-1111111:100" {
		t.Errorf("traffic %s", got)
	}
}

func TestDriftOfTraffic(t *testing.T) {
	w := newWorld(t)
	rev := w.deployV1(canaryApp)
	tree, _ := rev.Open(context.Background())
	w.p.opts.Root = tree.Root
	check := func() drift.AppResult {
		t.Helper()
		var r drift.AppResult
		if err := w.p.drift(context.Background(), w.p.opts.Root, tree.App, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := check(); r.Status != drift.InSync {
		t.Fatalf("%+v", r)
	}
	// A second revision, then the traffic split by hand.
	head, app := w.revision(strings.Repeat("2", 40), canaryApp, serviceYAML("gcr.io/p/web:v1", "            - {name: LOG_LEVEL, value: info}\n            - {name: X, value: y}\n"))
	if _, _, err := w.deploy(context.Background(), head, nil, app); err != nil {
		t.Fatal(err)
	}
	if err := w.emu.SetTraffic("web", []runemu.Traffic{{RevisionName: "web-v1-1111111", Percent: 50}, {RevisionName: "web-v1-2222222", Percent: 50}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	r := check()
	if r.Status != drift.OutOfSync {
		t.Fatalf("%+v", r)
	}
	found := false
	for _, f := range r.Drift[0].Fields {
		if f.Path == "status.traffic" {
			found = true
		}
	}
	if !found {
		t.Errorf("fields %+v", r.Drift[0].Fields)
	}
}
