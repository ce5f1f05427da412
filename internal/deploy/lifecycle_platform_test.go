package deploy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/state"
)

// fakePlatform plans a quick sync whose one stage runs stageErr, and
// records what it was asked.
type fakePlatform struct {
	preflightErr error
	stageErr     error

	mu          sync.Mutex
	runningApp  *config.App
	runningRoot string
	ran         []string
	rolledBack  int
}

func (f *fakePlatform) Plan(ctx context.Context, req PlanRequest) (*plan.Plan, Prepared, error) {
	if req.Running != nil {
		tree, err := req.Running.Open(ctx)
		if err != nil {
			return nil, nil, err
		}
		f.runningApp, f.runningRoot = tree.App, tree.Root
	}
	p, err := plan.New(req.Input, plan.Kind{
		QuickSync:        plan.Stage{ID: "FakeSync", Name: "FAKE_SYNC"},
		AutoRollback:     true,
		NoPipelineReason: "Quick sync (no pipeline)",
	})
	if err != nil {
		return nil, nil, err
	}
	p.Source.Desired = "sha256:fake"
	return p, &fakePrepared{f: f}, nil
}

type fakePrepared struct{ f *fakePlatform }

func (d *fakePrepared) PreFlight(context.Context, *plan.Plan) error { return d.f.preflightErr }
func (d *fakePrepared) Runner(context.Context, *plan.Plan, RunOptions) (execute.Platform, error) {
	return d, nil
}
func (d *fakePrepared) Facts() Facts { return Facts{Secrets: []string{"s3cret"}} }
func (d *fakePrepared) Close()       {}
func (d *fakePrepared) RunStage(ctx context.Context, st *execute.Stage) error {
	d.f.mu.Lock()
	d.f.ran = append(d.f.ran, string(st.Plan.Name))
	d.f.mu.Unlock()
	return d.f.stageErr
}
func (d *fakePrepared) Rollback(ctx context.Context, st *execute.Stage) error {
	d.f.mu.Lock()
	d.f.rolledBack++
	d.f.mu.Unlock()
	return nil
}

// memRecords is a Store of records in memory with a lock that counts.
type memRecords struct {
	recordStore
	last     *state.Record
	locks    int
	unlocked int
}

func (s *memRecords) LastSuccessful(context.Context, string) (*state.Record, error) {
	if s.last == nil {
		return nil, state.ErrNotFound
	}
	return s.last, nil
}
func (s *memRecords) Lock(context.Context, string, state.LockRequest) (*state.Lock, error) {
	s.locks++
	return &state.Lock{}, nil
}
func (s *memRecords) Unlock(context.Context, *state.Lock) error { s.unlocked++; return nil }

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME="+t.TempDir(),
		"GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@example.com")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %v: %v: %s", args, err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

const fakeAppConfig = `apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: web
  labels: {tag: TAG}
  input:
    helmOptions:
      setValues: {image.tag: TAG}
`

// repoWithTwoCommits commits the app with tag v1, then v2; it returns the
// env at v2 and the hash of v1.
func repoWithTwoCommits(t *testing.T) (*Env, *config.App, string) {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	app := filepath.Join(dir, "apps", "web", "app.pipecd.yaml")
	if err := os.MkdirAll(filepath.Dir(app), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(tag string) {
		if err := os.WriteFile(app, []byte(strings.ReplaceAll(fakeAppConfig, "TAG", tag)), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, dir, "add", ".")
		git(t, dir, "commit", "-q", "-m", "web "+tag)
	}
	write("v1")
	v1 := git(t, dir, "rev-parse", "HEAD")
	write("v2")
	repo, err := config.LoadRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	ap, err := repo.App("web")
	if err != nil {
		t.Fatal(err)
	}
	g, err := source.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return &Env{Root: dir, Repo: repo, Git: g, Now: time.Now, TempDir: t.TempDir()}, ap, v1
}

// The running commit is given to the platform with its own app config,
// checked out apart from the working tree.
func TestPlanGivesTheRunningCommitItsOwnConfig(t *testing.T) {
	env, ap, v1 := repoWithTwoCommits(t)
	pf := &fakePlatform{}
	env.Platforms = func(config.Kind) (Platform, error) { return pf, nil }
	env.Records = &memRecords{last: &state.Record{Status: state.StatusSucceeded, Target: state.Commit{Hash: v1}}}
	p, err := env.Plan(context.Background(), ap, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Running == nil || p.Running.Hash != v1 {
		t.Fatalf("running %+v, want %s", p.Running, v1)
	}
	spec := pf.runningApp.Spec.(*config.KubernetesApplicationSpec)
	if got := spec.Input.HelmOptions.SetValues["image.tag"]; got != "v1" {
		t.Errorf("the running commit's config has image.tag %q, want v1 (its own)", got)
	}
	if head := ap.Spec.(*config.KubernetesApplicationSpec).Input.HelmOptions.SetValues["image.tag"]; head != "v2" {
		t.Errorf("head config %q", head)
	}
	if pf.runningRoot == env.Root {
		t.Error("the running commit was not checked out apart")
	}
	if _, err := os.Stat(pf.runningRoot); !os.IsNotExist(err) {
		t.Errorf("the checkout of the running commit is left behind: %v", err)
	}
}

// A refused pre-flight ends the deployment FAILED before any stage runs:
// no rollback (nothing was applied), the lock released, the reason
// recorded.
func TestPreFlightRefusalIsRecorded(t *testing.T) {
	env, ap, _ := repoWithTwoCommits(t)
	pf := &fakePlatform{preflightErr: errors.New("Service web: spec.ports[0].port: Invalid value: 99999 (from apps/web/service.yaml:1)")}
	env.Platforms = func(config.Kind) (Platform, error) { return pf, nil }
	store := &memRecords{}
	env.Records = store
	rec, err := env.Sync(context.Background(), ap, store, SyncOptions{})
	var pe *PreFlightError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a PreFlightError", err)
	}
	if rec.Status != state.StatusFailed || !strings.Contains(rec.Reason, "pre-flight check failed, nothing was applied: Service web: spec.ports[0].port") {
		t.Errorf("record %s %q", rec.Status, rec.Reason)
	}
	if len(pf.ran) != 0 || pf.rolledBack != 0 {
		t.Errorf("ran %v, rolled back %d times", pf.ran, pf.rolledBack)
	}
	if rec.Stages[0].Status != state.StageNotStarted || store.locks != 1 || store.unlocked != 1 {
		t.Errorf("stage %s, locks %d, unlocks %d", rec.Stages[0].Status, store.locks, store.unlocked)
	}
}

// A quick sync runs through the engine: its failure rolls back, as the
// plan says it will.
func TestQuickSyncFailureRollsBack(t *testing.T) {
	env, ap, _ := repoWithTwoCommits(t)
	pf := &fakePlatform{stageErr: errors.New("wait for readiness: Deployment web: pods unschedulable")}
	env.Platforms = func(config.Kind) (Platform, error) { return pf, nil }
	store := &memRecords{}
	env.Records = store
	rec, err := env.Sync(context.Background(), ap, store, SyncOptions{})
	var f *execute.Failure
	if !errors.As(err, &f) || !f.RolledBack {
		t.Fatalf("err = %v, want a failure rolled back", err)
	}
	if rec.Strategy != state.StrategyQuickSync || rec.Stages[0].Name != "FAKE_SYNC" || rec.Stages[0].Status != state.StageFailed ||
		rec.Stages[1].Name != "ROLLBACK" || rec.Stages[1].Status != state.StageSucceeded {
		t.Errorf("record %s: %+v", rec.Strategy, rec.Stages)
	}
	if pf.rolledBack != 1 || !strings.HasSuffix(rec.Reason, "; rolled back") {
		t.Errorf("rolled back %d times, reason %q", pf.rolledBack, rec.Reason)
	}
}

// A kind without a platform is refused before anything is recorded.
func TestUnsupportedKind(t *testing.T) {
	env, ap, _ := repoWithTwoCommits(t)
	env.Platforms = func(k config.Kind) (Platform, error) { return nil, errors.New("a " + string(k) + " is not supported") }
	store := &memRecords{}
	if _, err := env.Sync(context.Background(), ap, store, SyncOptions{}); err == nil || store.locks != 0 || len(store.recs) != 0 {
		t.Errorf("err %v, locks %d, records %d", err, store.locks, len(store.recs))
	}
}
