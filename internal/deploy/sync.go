package deploy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/render"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/platform/kubernetes"
)

// Cluster is what a quick sync needs from a Kubernetes cluster.
type Cluster interface {
	Apply(ctx context.Context, objs []*unstructured.Unstructured, opts kubernetes.ApplyOptions) (*kubernetes.Result, error)
	Wait(ctx context.Context, keys []kubernetes.Key, opts kubernetes.WaitOptions) error
}

// Store is the part of the deployment record store a sync writes.
type Store interface {
	Records
	Begin(ctx context.Context, rec *state.Record) error
	Update(ctx context.Context, rec *state.Record) error
	Lock(ctx context.Context, app string, req state.LockRequest) (*state.Lock, error)
	Renew(ctx context.Context, l *state.Lock) error
	Unlock(ctx context.Context, l *state.Lock) error
	Get(ctx context.Context, app, id string) (*state.Record, error)
	Running(ctx context.Context, app string) ([]*state.Record, error)
}

// SyncOptions are the choices of one sync.
type SyncOptions struct {
	PlanOptions
	// Saved is a plan made earlier (`pipe plan --out`): the sync applies
	// exactly it, and refuses it when what it was computed from changed.
	Saved   *plan.Plan
	Trigger state.Trigger
	// Owner names the lock holder (the CI job or the user).
	Owner          string
	ForceConflicts bool
	// Lease of the lock; it is renewed while the sync runs.
	Lease time.Duration
	// Grace bounds the recording and unlocking after an interruption.
	Grace  time.Duration
	Events func(Event)
	// Pipeline is how the stages of a pipeline run.
	Pipeline PipelineOptions
}

// Event is one step of a sync, for the CLI to render.
type Event struct {
	Time    time.Time
	App     string
	Stage   string
	Message string
	// Warning marks events that need attention.
	Warning bool
}

// ErrProgressive is returned when the plan is a pipeline and the cluster
// cannot run its stages.
var ErrProgressive = errors.New("progressive sync is not available for this cluster")

// SyncStage is the name of the quick sync's one stage, as PipeCD names it.
const SyncStage = "K8S_SYNC"

// Sync deploys one application with a quick sync: plan, lock, record,
// apply, wait for readiness, record the outcome, unlock. Every transition
// is written to the deployment record as it happens, so an interrupted or
// killed sync never leaves an unrecorded rollout. It returns the final
// record, also on failure (then with the error).
func (e *Env) Sync(ctx context.Context, app *config.App, store Store, opts SyncOptions) (*state.Record, error) {
	emit := func(stage, format string, args ...any) {
		if opts.Events != nil {
			opts.Events(Event{Time: e.Now(), App: app.Name, Stage: stage, Message: fmt.Sprintf(format, args...)})
		}
	}
	p, prep, err := e.plan(ctx, app, opts.PlanOptions)
	if err != nil {
		return nil, err
	}
	defer prep.close()
	if opts.Saved != nil {
		if k := opts.Saved.App.Kind; k != "" && k != string(app.Kind) {
			return nil, fmt.Errorf("the saved plan of %s is for a %s, the app is a %s: make a new plan with `pipe plan %s --out FILE`", app.Name, k, app.Kind, app.Name)
		}
		if app.Kind == config.KindTerraformApp && (opts.Saved.Terraform == nil || opts.Saved.Source.Desired == "") {
			return nil, fmt.Errorf("the saved plan of %s has no terraform plan fingerprint (made by another version of pipe, or edited): nothing was deployed; make a new plan with `pipe plan %s --out FILE`", app.Name, app.Name)
		}
		if err := opts.Saved.Verify(p.Source); err != nil {
			return nil, err
		}
		p = opts.Saved
	}
	emit("", "%s: %s", p.Strategy, p.Reason)
	if err := checkPaused(ctx, store, app.Name); err != nil {
		return nil, err
	}
	if app.Kind == config.KindTerraformApp {
		return e.syncTerraform(ctx, app, p, prep.tf, store, nil, opts)
	}
	spec := app.Spec.(*config.KubernetesApplicationSpec)
	desired := prep.desired
	if e.Cluster == nil {
		return nil, fmt.Errorf("no Kubernetes cluster to sync %s to", app.Name)
	}
	if p.Strategy == plan.StrategyPipeline {
		return e.syncPipeline(ctx, app, spec, desired, p, store, nil, opts)
	}
	cluster := e.Cluster

	now := e.Now()
	rec := &state.Record{
		ID:             state.NewID(now),
		App:            app.Name,
		Kind:           string(app.Kind),
		Target:         state.Commit{Hash: p.Head.Hash, Subject: p.Head.Subject},
		Trigger:        opts.Trigger,
		Strategy:       state.StrategyQuickSync,
		StrategyReason: p.Reason,
		Stages:         []state.Stage{{ID: "stage-0", Name: SyncStage, Status: state.StageNotStarted}},
		Status:         state.StatusRunning,
		StartedAt:      now,
	}
	if p.Running != nil {
		rec.Running = &state.Commit{Hash: p.Running.Hash, Subject: p.Running.Subject}
	}
	lock, err := store.Lock(ctx, app.Name, state.LockRequest{Owner: opts.Owner, CIRunURL: opts.Trigger.CIRunURL, DeploymentID: rec.ID, Lease: opts.Lease})
	if err != nil {
		return nil, err
	}
	rec.LockTakeover = lock.TakeoverOf
	// From here on, every exit records the outcome and releases the lock,
	// with a context of its own: the run's may be cancelled.
	after := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), cmp(opts.Grace, 30*time.Second))
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopRenew := e.renew(runCtx, store, lock, cmp(opts.Lease, state.DefaultLease), cancel)
	defer func() {
		stopRenew()
		actx, done := after()
		defer done()
		if err := store.Unlock(actx, lock); err != nil {
			emit("", "could not release the lock: %v", err)
		}
	}()
	if err := store.Begin(runCtx, rec); err != nil {
		return nil, fmt.Errorf("record the deployment: %w", err)
	}
	emit("", "deployment %s started (lock held by %s)", rec.ID, opts.Owner)
	e.supersede(runCtx, store, rec, func(format string, args ...any) { emit("", format, args...) })

	timeout := spec.Timeout.Std()
	if timeout <= 0 {
		timeout = 6 * time.Hour
	}
	stageCtx, stageDone := context.WithTimeout(runCtx, timeout)
	defer stageDone()
	stage := &rec.Stages[0]
	stage.Status, stage.StartedAt = state.StageRunning, e.Now()
	if err := store.Update(runCtx, rec); err != nil {
		return rec, fmt.Errorf("record the deployment: %w", err)
	}
	syncErr := e.quickSync(stageCtx, app, spec, desired, p, cluster, stage, emit, opts)
	finish := func(status state.DeploymentStatus, stageStatus state.StageStatus, reason string) {
		stage.Status, stage.EndedAt, stage.Reason = stageStatus, e.Now(), reason
		rec.Status, rec.Reason, rec.EndedAt = status, reason, e.Now()
	}
	switch {
	case syncErr == nil:
		finish(state.StatusSucceeded, state.StageSucceeded, "")
	case ctx.Err() != nil:
		finish(state.StatusCancelled, state.StageCancelled, "interrupted: the sync was cancelled (SIGINT/SIGTERM)")
	case errors.Is(context.Cause(runCtx), state.ErrLockLost):
		finish(state.StatusFailed, state.StageFailed, "the lock was lost to another deployment: "+syncErr.Error())
	case errors.Is(syncErr, context.DeadlineExceeded):
		finish(state.StatusFailed, state.StageFailed, fmt.Sprintf("timed out after %s (spec.timeout): %v", timeout, syncErr))
	default:
		finish(state.StatusFailed, state.StageFailed, syncErr.Error())
	}
	actx, done := after()
	defer done()
	if err := store.Update(actx, rec); err != nil {
		return rec, errors.Join(syncErr, fmt.Errorf("record the outcome: %w", err))
	}
	emit("", "deployment %s %s", rec.ID, strings.ToLower(string(rec.Status)))
	if syncErr != nil && ctx.Err() != nil {
		return rec, errors.Join(ctx.Err(), syncErr)
	}
	return rec, syncErr
}

// quickSync applies the desired objects and waits for them to be ready,
// noting what it did in the stage's metadata (for the record).
func (e *Env) quickSync(ctx context.Context, app *config.App, spec *config.KubernetesApplicationSpec, desired *render.Manifests, p *plan.Plan,
	cluster Cluster, stage *state.Stage, emit func(string, string, ...any), opts SyncOptions) error {
	target := kubernetes.App{ID: app.Name, CommitHash: p.Head.Hash}
	events := func(ev kubernetes.Event) {
		emit(SyncStage, "%s %s%s", ev.Action, ev.Key, suffix(ev.Message))
	}
	objs := objectsOfRender(desired)
	// Only this app's namespaces are its own: another app of the same name
	// elsewhere in the cluster is never diffed or pruned as this one.
	target.Namespaces = kubernetes.ScopeOf(objs, e.Renderer.DefaultNamespace)
	applyOpts := kubernetes.ApplyOptions{App: target, ForceConflicts: opts.ForceConflicts, Prune: spec.QuickSync.Prune, Events: events}
	if spec.Input.AutoCreateNamespace && spec.Input.Namespace != "" {
		applyOpts.CreateNamespace = spec.Input.Namespace
	}
	res, err := cluster.Apply(ctx, objs, applyOpts)
	if res != nil {
		counts := map[kubernetes.Action]int{}
		for _, o := range res.Objects {
			counts[o.Action]++
		}
		stage.Metadata = map[string]string{
			"objects":    strconv.Itoa(len(res.Objects)),
			"created":    strconv.Itoa(counts[kubernetes.ActionCreated]),
			"configured": strconv.Itoa(counts[kubernetes.ActionConfigured] + counts[kubernetes.ActionReplaced] + counts[kubernetes.ActionRecreated]),
			"unchanged":  strconv.Itoa(counts[kubernetes.ActionUnchanged]),
			"pruned":     strconv.Itoa(len(res.Pruned)),
		}
		if na := res.NotApplied(); err != nil && len(na) > 0 {
			stage.Metadata["notApplied"] = joinKeys(na, 20)
		}
	}
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	emit(SyncStage, "applied %d objects; waiting for them to be ready", len(res.Objects))
	if err := cluster.Wait(ctx, res.Applied(), kubernetes.WaitOptions{App: target, Events: events}); err != nil {
		return fmt.Errorf("wait for readiness: %w", err)
	}
	return nil
}

// renew keeps the lock's lease alive until stopped; losing the lock
// cancels the run.
func (e *Env) renew(ctx context.Context, store Store, lock *state.Lock, lease time.Duration, cancel context.CancelCauseFunc) (stop func()) {
	ctx, stopCtx := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(lease/3, time.Second))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := store.Renew(ctx, lock); errors.Is(err, state.ErrLockLost) {
					cancel(err)
					return
				}
			}
		}
	}()
	return func() { stopCtx(); wg.Wait() }
}

func cmp(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

func joinKeys(keys []kubernetes.Key, max int) string {
	var parts []string
	for i, k := range keys {
		if i == max {
			parts = append(parts, fmt.Sprintf("… %d more", len(keys)-max))
			break
		}
		parts = append(parts, k.String())
	}
	return strings.Join(parts, ", ")
}
