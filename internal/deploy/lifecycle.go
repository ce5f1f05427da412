package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
)

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
	Owner string
	// Lease of the lock; it is renewed while the sync runs.
	Lease time.Duration
	// Grace is the cleanup budget after an interruption (SIGINT/SIGTERM,
	// or the lock's lease running out): the rollback, the final record and
	// the unlock share it (execute.Cleanup); 0 is execute.DefaultGrace.
	Grace  time.Duration
	Events func(Event)
	// Pipeline is how the stages run.
	Pipeline PipelineOptions
}

// PipelineOptions are the choices of how the stages run.
type PipelineOptions struct {
	// WaitApproval keeps waiting at WAIT_APPROVAL stages (up to their
	// timeout) instead of pausing the deployment.
	WaitApproval bool
	// Environ, RepoURL and Redact are what SCRIPT_RUN scripts run with.
	Environ []string
	RepoURL string
	Redact  func(string) string
	// RollbackTimeout bounds an automated rollback (default 10m).
	RollbackTimeout time.Duration
	// PollInterval is how often a waiting WAIT_APPROVAL stage reads the
	// record (default 5s).
	PollInterval time.Duration
	// Cancel, with Resume, ends the deployment instead of continuing it:
	// rollback (when autoRollback) and CANCELLED with this reason.
	Cancel string
	// Analysis is what ANALYSIS stages query (providers, templates); the
	// namespace and the previous deployment's analysis are filled in here.
	Analysis execute.AnalysisEnv
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

// ErrWaitingApproval is returned by Sync and Resume when the deployment
// paused at a WAIT_APPROVAL stage.
var ErrWaitingApproval = execute.ErrWaitingApproval

// ErrPaused is returned by Sync when another deployment of the app is
// paused for approval: it must be resumed or cancelled first.
var ErrPaused = errors.New("another deployment is waiting for approval")

// ErrNothingToResume is returned by Resume when the app has no unfinished
// deployment.
var ErrNothingToResume = errors.New("nothing to resume")

// PreFlightError is a deployment refused by its pre-flight check: nothing
// was applied, and the record says why.
type PreFlightError struct{ Err error }

func (e *PreFlightError) Error() string {
	return "pre-flight check failed, nothing was applied: " + e.Err.Error()
}
func (e *PreFlightError) Unwrap() error { return e.Err }

// Sync deploys one application at the head: plan (or the saved plan,
// verified), then the deployment's lifecycle, the same for every kind and
// for quick syncs and pipelines alike: lock, record, pre-flight, the
// stages through the engine (with the rollback when one fails), record,
// unlock. Every transition is written to the deployment record as it
// happens, so an interrupted or killed sync never leaves an unrecorded
// rollout. It returns the final record, also on failure (then with the
// error).
func (e *Env) Sync(ctx context.Context, app *config.App, store Store, opts SyncOptions) (*state.Record, error) {
	if opts.Saved != nil && opts.Saved.Source.Live != nil {
		opts.Live = true // the saved plan's live objects are checked
	}
	p, prep, err := e.plan(ctx, app, opts.PlanOptions, false)
	if err != nil {
		return nil, err
	}
	defer prep.Close()
	if opts.Saved != nil {
		if err := checkSaved(app, opts.Saved, p); err != nil {
			return nil, err
		}
		p = opts.Saved
	}
	e.emit(opts, app, "", "%s: %s", p.Strategy, p.Reason)
	if err := checkPaused(ctx, store, app.Name); err != nil {
		return nil, err
	}
	return e.run(ctx, app, p, prep, store, nil, opts)
}

// checkSaved accepts a saved plan only for the app's kind and while what
// it was computed from is unchanged.
func checkSaved(app *config.App, saved, current *plan.Plan) error {
	if k := saved.App.Kind; k != "" && k != string(app.Kind) {
		return fmt.Errorf("the saved plan of %s is for a %s, the app is a %s: make a new plan with `pipe plan %s --out FILE`", app.Name, k, app.Kind, app.Name)
	}
	if current.Source.Desired != "" && saved.Source.Desired == "" {
		return fmt.Errorf("the saved plan of %s has no fingerprint of its desired state (made by another version of pipe, or edited): nothing was deployed; make a new plan with `pipe plan %s --out FILE`", app.Name, app.Name)
	}
	return saved.Verify(current.Source)
}

// Resume continues the app's newest unfinished pipeline deployment from
// its record: finished stages are not run again, a WAIT waits only what
// remains, the lock is taken again (an expired lease of the interrupted
// run is taken over). The working tree must be at the deployment's commit.
// With opts.Pipeline.Cancel it ends the deployment instead (pipe cancel).
func (e *Env) Resume(ctx context.Context, app *config.App, store Store, opts SyncOptions) (*state.Record, error) {
	recs, err := store.Running(ctx, app.Name)
	if err != nil {
		return nil, err
	}
	var rec *state.Record
	for _, r := range recs {
		if r.Strategy == state.StrategyPipeline {
			rec = r
			break
		}
	}
	if rec == nil {
		return nil, fmt.Errorf("%w: %s has no unfinished pipeline deployment", ErrNothingToResume, app.Name)
	}
	head, _, err := e.commit(opts.Head)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(head.Hash, rec.Target.Hash) {
		return nil, fmt.Errorf("deployment %s deploys %s but the working tree is at %s: check out %s to resume it",
			rec.ID, short(rec.Target.Hash), short(head.Hash), short(rec.Target.Hash))
	}
	po := opts.PlanOptions
	po.Strategy = plan.StrategyPipeline
	cancel := opts.Pipeline.Cancel != ""
	p, prep, err := e.plan(ctx, app, po, cancel)
	if err != nil {
		return nil, err
	}
	defer prep.Close()
	if err := sameStages(p, rec); err != nil {
		verb := "resume"
		if cancel {
			verb = "cancel"
		}
		return nil, fmt.Errorf("cannot %s deployment %s: %w", verb, rec.ID, err)
	}
	if rec.Running != nil && (p.Running == nil || p.Running.Hash != rec.Running.Hash) {
		p.Running = &plan.Commit{Hash: rec.Running.Hash, Subject: rec.Running.Subject}
	}
	return e.run(ctx, app, p, prep, store, rec, opts)
}

// sameStages checks that the plan's stages are the record's.
func sameStages(p *plan.Plan, rec *state.Record) error {
	if len(p.Stages) != len(rec.Stages) {
		return fmt.Errorf("the pipeline changed since it started (%d stages, the record has %d)", len(p.Stages), len(rec.Stages))
	}
	for i, s := range p.Stages {
		if s.ID != rec.Stages[i].ID || string(s.Name) != rec.Stages[i].Name {
			return fmt.Errorf("the pipeline changed since it started: stage %d is %s (%s), the record has %s (%s)",
				i, s.ID, s.Name, rec.Stages[i].ID, rec.Stages[i].Name)
		}
	}
	return nil
}

// run runs (rec nil) or resumes (rec the record) the stages of a plan
// under the app's lock, recording every transition: the lifecycle every
// deployment of every kind goes through.
func (e *Env) run(ctx context.Context, app *config.App, p *plan.Plan, prep Prepared, store Store, rec *state.Record, opts SyncOptions) (*state.Record, error) {
	emit := func(format string, args ...any) { e.emit(opts, app, "", format, args...) }
	cancelling := rec != nil && opts.Pipeline.Cancel != ""
	runner, err := prep.Runner(ctx, p, RunOptions{ForceConflicts: opts.ForceConflicts})
	if err != nil {
		return nil, err
	}
	resume := rec != nil
	if !resume {
		now := e.Now()
		strategy := state.StrategyPipeline
		if p.Strategy == plan.StrategyQuickSync {
			strategy = state.StrategyQuickSync
		}
		rec = &state.Record{
			ID:             state.NewID(now),
			App:            app.Name,
			Kind:           string(app.Kind),
			Target:         state.Commit{Hash: p.Head.Hash, Subject: p.Head.Subject},
			Trigger:        opts.Trigger,
			Strategy:       strategy,
			StrategyReason: p.Reason,
			Stages:         execute.NewRecordStages(p),
			Status:         state.StatusRunning,
			StartedAt:      now,
		}
		if p.Running != nil {
			rec.Running = &state.Commit{Hash: p.Running.Hash, Subject: p.Running.Subject}
		}
	}
	lock, err := store.Lock(ctx, app.Name, state.LockRequest{Owner: opts.Owner, CIRunURL: opts.Trigger.CIRunURL, DeploymentID: rec.ID, Lease: opts.Lease})
	if err != nil {
		return nil, err
	}
	if !resume {
		rec.LockTakeover = lock.TakeoverOf
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cleanup := execute.NewCleanup(runCtx, opts.Grace)
	after := func() (context.Context, context.CancelFunc) { return cleanup.Context(0) }
	stopRenew := e.renew(runCtx, store, lock, orDefault(opts.Lease, state.DefaultLease), cancel, func(msg string) { emit("%s", msg) })
	defer func() {
		stopRenew()
		actx, done := after()
		defer done()
		if err := store.Unlock(actx, lock); err != nil {
			emit("could not release the lock: %v", err)
		}
	}()
	if resume {
		kind, verb := "resume", "resum"
		if cancelling {
			kind, verb = "cancel", "cancell"
		}
		rec.Events = append(rec.Events, state.Event{Time: e.Now(), Kind: kind, Actor: opts.Owner,
			Message: fmt.Sprintf("%sed from %s", verb, strings.ToLower(string(rec.Status)))})
		emit("%sing deployment %s (%s; lock held by %s)", verb, rec.ID, rec.Status, opts.Owner)
	} else {
		if err := store.Begin(runCtx, rec); err != nil {
			return nil, fmt.Errorf("record the deployment: %w", err)
		}
		emit("deployment %s started (lock held by %s)", rec.ID, opts.Owner)
		e.supersede(runCtx, store, rec, emit)
	}
	if !cancelling && !startedApplying(rec) {
		if err := e.preFlight(runCtx, prep, p, rec, store, after, emit); err != nil {
			return rec, err
		}
	}
	// Stages the config names are shown with their id.
	configuredIDs := map[string]bool{}
	if pl := app.Spec.Generic().Pipeline; pl != nil {
		for _, s := range pl.Stages {
			if s.ID != "" {
				configuredIDs[s.ID] = true
			}
		}
	}
	engine := &execute.Engine{
		Store: store, Platform: runner, Now: e.Now,
		RollbackTimeout: opts.Pipeline.RollbackTimeout, PollInterval: opts.Pipeline.PollInterval, CancelGrace: opts.Grace, Cleanup: cleanup,
		Events: func(ev execute.Event) {
			if opts.Events == nil {
				return
			}
			msg := ev.Message
			if ev.Output {
				msg = "| " + msg
			}
			stage := ev.Stage
			if configuredIDs[ev.StageID] {
				stage += " " + ev.StageID
			}
			opts.Events(Event{Time: ev.Time, App: app.Name, Stage: stage, Message: msg, Warning: ev.Warning})
		},
	}
	facts := prep.Facts()
	analysisEnv := opts.Pipeline.Analysis
	if analysisEnv.Previous == nil {
		analysisEnv.Previous = e.previousAnalysis(app.Name)
	}
	if analysisEnv.Namespace == "" {
		analysisEnv.Namespace = facts.Namespace
	}
	d := &execute.Deployment{
		App: app, Plan: p, Record: rec, Timeout: app.Spec.Generic().Timeout.Std(), WaitApproval: opts.Pipeline.WaitApproval, Analysis: analysisEnv,
		Script: execute.ScriptEnv{Dir: dirOf(e.Root, app), Environ: opts.Pipeline.Environ, RepoURL: opts.Pipeline.RepoURL,
			Redact: redactor(facts.Secrets, opts.Pipeline.Environ, e.Secrets, opts.Pipeline.Redact)},
	}
	var runErr error
	if cancelling {
		runErr = engine.Cancel(runCtx, d, opts.Pipeline.Cancel)
	} else {
		runErr = engine.Run(runCtx, d)
	}
	switch {
	case runErr == nil:
		emit("deployment %s succeeded", rec.ID)
	case errors.Is(runErr, execute.ErrWaitingApproval):
		emit("deployment %s is waiting for approval: run `pipe approve %s`, then `pipe sync %s --resume`", rec.ID, app.Name, app.Name)
	default:
		emit("deployment %s %s", rec.ID, strings.ToLower(string(rec.Status)))
	}
	if runErr != nil && ctx.Err() != nil && !errors.Is(runErr, context.Canceled) {
		runErr = errors.Join(ctx.Err(), runErr)
	}
	return rec, runErr
}

// startedApplying reports whether a stage of the deployment ran: its
// pre-flight passed then, and what it applied since may be why a new one
// would differ.
func startedApplying(rec *state.Record) bool {
	for _, s := range rec.Stages {
		if s.Status != state.StageNotStarted {
			return true
		}
	}
	return false
}

// preFlight runs the platform's pre-flight check once the deployment is
// recorded; a refusal ends it FAILED with the reason, nothing applied and
// nothing to roll back.
func (e *Env) preFlight(ctx context.Context, prep Prepared, p *plan.Plan, rec *state.Record, store Store, after func() (context.Context, context.CancelFunc), emit func(string, ...any)) error {
	err := prep.PreFlight(ctx, p)
	if err == nil {
		return nil
	}
	now := e.Now()
	status := state.StatusFailed
	reason := "pre-flight check failed, nothing was applied: " + err.Error()
	if ctx.Err() != nil {
		status, reason = state.StatusCancelled, "interrupted during the pre-flight check: nothing was applied"
	}
	rec.Status, rec.Reason, rec.EndedAt = status, reason, now
	rec.Events = append(rec.Events, state.Event{Time: now, Kind: "preflight", Message: reason})
	actx, done := after()
	defer done()
	emit("deployment %s %s: %s", rec.ID, strings.ToLower(string(status)), reason)
	if uerr := store.Update(actx, rec); uerr != nil {
		return errors.Join(&PreFlightError{Err: err}, fmt.Errorf("record the outcome: %w", uerr))
	}
	if ctx.Err() != nil {
		return errors.Join(context.Cause(ctx), err)
	}
	return &PreFlightError{Err: err}
}

// checkPaused refuses a new deployment while one is paused for approval
// (it holds no lock, but its canary and the traffic split are live).
func checkPaused(ctx context.Context, store Store, app string) error {
	recs, err := store.Running(ctx, app)
	if err != nil {
		return fmt.Errorf("read the deployment records of %s: %w", app, err)
	}
	for _, r := range recs {
		if r.Status == state.StatusWaitingApproval {
			return fmt.Errorf("%w: deployment %s of %s (%s) is waiting for approval", ErrPaused, r.ID, app, short(r.Target.Hash))
		}
	}
	return nil
}

// supersede ends the app's other unfinished records, once this deployment
// holds the lock: their jobs died (their lease expired), and this
// deployment replaces them.
func (e *Env) supersede(ctx context.Context, store Store, rec *state.Record, emit func(string, ...any)) {
	recs, err := store.Running(ctx, rec.App)
	if err != nil {
		emit("could not read the unfinished deployments of %s: %v", rec.App, err)
		return
	}
	for _, r := range recs {
		if r.ID == rec.ID || r.Status == state.StatusWaitingApproval {
			continue
		}
		now := e.Now()
		reason := fmt.Sprintf("abandoned (its job stopped without recording an outcome); superseded by deployment %s", rec.ID)
		for i := range r.Stages {
			if r.Stages[i].Status == state.StageRunning {
				r.Stages[i].Status, r.Stages[i].Reason, r.Stages[i].EndedAt = state.StageCancelled, reason, now
			}
		}
		r.Status, r.Reason, r.EndedAt = state.StatusCancelled, reason, now
		if err := store.Update(ctx, r); err != nil {
			emit("could not record deployment %s as superseded: %v", r.ID, err)
			continue
		}
		emit("deployment %s (%s) was left %s by a job that stopped: recorded CANCELLED", r.ID, short(r.Target.Hash), "unfinished")
	}
}

// previousAnalysis returns the analysis of a stage in the app's latest
// successful deployment that ran it and passed it: what the PREVIOUS
// strategy compares with. Deployments without the stage (a quick sync in
// between) are passed over, as PipeCD keeps the latest successful analysis.
func (e *Env) previousAnalysis(app string) func(ctx context.Context, stageID string) (*state.Analysis, error) {
	return func(ctx context.Context, stageID string) (*state.Analysis, error) {
		if e.Records == nil {
			return nil, nil
		}
		recs, err := e.Records.History(ctx, app, 0)
		if errors.Is(err, state.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the deployments of %s for the PREVIOUS strategy: %w", app, err)
		}
		for _, rec := range recs {
			if rec.Status != state.StatusSucceeded {
				continue
			}
			for _, s := range rec.Stages {
				if s.ID == stageID && s.Analysis != nil && s.Analysis.Verdict == state.VerdictPass && !s.Analysis.StartedAt.IsZero() {
					return s.Analysis, nil
				}
			}
		}
		return nil, nil
	}
}

// renew keeps the lock's lease alive until stopped. Losing the lock
// cancels the run; so does failing to renew it until the next attempt
// would come after the lease ran out: from then on another run may take
// the lock over, and this one must not go on deploying (it stops with a
// third of the lease left for its cleanup).
func (e *Env) renew(ctx context.Context, store Store, lock *state.Lock, lease time.Duration, cancel context.CancelCauseFunc, warn func(string)) (stop func()) {
	ctx, stopCtx := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		interval := max(lease/3, time.Second)
		t := time.NewTicker(interval)
		defer t.Stop()
		renewed := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				// A push that hangs must not keep the run going: an attempt
				// ends while a third of the lease is left for the cleanup.
				start := time.Now()
				actx, done := context.WithDeadline(ctx, renewed.Add(lease-interval))
				err := store.Renew(actx, lock)
				done()
				if err != nil && ctx.Err() == nil && actx.Err() != nil {
					err = fmt.Errorf("no answer before the lease ends: %w", err)
				}
				switch {
				case err == nil:
					renewed = start // the lease counts from the attempt
				case errors.Is(err, state.ErrLockLost):
					cancel(err)
					return
				case ctx.Err() != nil:
					return
				case !time.Now().Add(interval).Before(renewed.Add(lease)):
					cancel(fmt.Errorf("%w: the lock could not be renewed since %s and its lease (%s) ends before the next attempt: %v",
						execute.ErrLeaseExpired, renewed.UTC().Format(time.RFC3339), lease, err))
					return
				default:
					warn(fmt.Sprintf("could not renew the lock (will retry; the lease ends at %s): %v", renewed.Add(lease).UTC().Format(time.RFC3339), err))
				}
			}
		}
	}()
	return func() { stopCtx(); wg.Wait() }
}

func (e *Env) emit(opts SyncOptions, app *config.App, stage, format string, args ...any) {
	if opts.Events != nil {
		opts.Events(Event{Time: e.Now(), App: app.Name, Stage: stage, Message: fmt.Sprintf(format, args...)})
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
