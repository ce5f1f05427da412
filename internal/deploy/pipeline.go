package deploy

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/render"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/platform/kubernetes"
)

// PipelineOptions are the choices of a pipeline run.
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

// ErrWaitingApproval is returned by Sync and Resume when the deployment
// paused at a WAIT_APPROVAL stage.
var ErrWaitingApproval = execute.ErrWaitingApproval

// ErrPaused is returned by Sync when another deployment of the app is
// paused for approval: it must be resumed or cancelled first.
var ErrPaused = errors.New("another deployment is waiting for approval")

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

// ErrNothingToResume is returned by Resume when the app has no unfinished
// deployment.
var ErrNothingToResume = errors.New("nothing to resume")

// Resume continues the app's newest unfinished pipeline deployment from
// its record: finished stages are not run again, a WAIT waits only what
// remains, the lock is taken again (an expired lease of the interrupted
// run is taken over). The working tree must be at the deployment's commit.
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
	var p *plan.Plan
	var prep *prepared
	if app.Kind == config.KindTerraformApp && opts.Pipeline.Cancel != "" {
		// Cancelling must not need terraform to plan (expired credentials,
		// a state lock left by a dead job): lay the stages out only.
		var tf *tfPrepared
		p, tf, err = e.planTerraform(ctx, app, po, true)
		prep = &prepared{tf: tf}
	} else {
		p, prep, err = e.plan(ctx, app, po)
	}
	if err != nil {
		return nil, err
	}
	defer prep.close()
	if err := sameStages(p, rec); err != nil {
		verb := "resume"
		if opts.Pipeline.Cancel != "" {
			verb = "cancel"
		}
		return nil, fmt.Errorf("cannot %s deployment %s: %w", verb, rec.ID, err)
	}
	if rec.Running != nil && (p.Running == nil || p.Running.Hash != rec.Running.Hash) {
		p.Running = &plan.Commit{Hash: rec.Running.Hash, Subject: rec.Running.Subject}
	}
	if app.Kind == config.KindTerraformApp {
		return e.syncTerraform(ctx, app, p, prep.tf, store, rec, opts)
	}
	spec := app.Spec.(*config.KubernetesApplicationSpec)
	return e.syncPipeline(ctx, app, spec, prep.desired, p, store, rec, opts)
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

// syncPipeline runs (rec nil) or resumes (rec the record) a Kubernetes
// pipeline deployment under the app's lock.
func (e *Env) syncPipeline(ctx context.Context, app *config.App, spec *config.KubernetesApplicationSpec, desired *render.Manifests, p *plan.Plan,
	store Store, rec *state.Record, opts SyncOptions) (*state.Record, error) {
	kc, ok := e.Cluster.(execute.KubeCluster)
	if !ok {
		return nil, fmt.Errorf("%w: %s plans a pipeline (%s)", ErrProgressive, app.Name, p.Reason)
	}
	platform := &execute.Kubernetes{
		Cluster: kc, AppID: app.Name, Spec: spec, Head: p.Head.Hash, Desired: objectsOfRender(desired),
		ForceConflicts: opts.ForceConflicts,
	}
	platform.Namespaces = kubernetes.ScopeOf(platform.Desired, e.Renderer.DefaultNamespace)
	if p.Running != nil {
		running := p.Running.Hash
		platform.Running = running
		platform.RunningObjects = func(ctx context.Context) ([]*unstructured.Unstructured, error) {
			rev, err := e.renderRevision(ctx, app, running)
			if err != nil {
				return nil, err
			}
			return objectsOf(rev.Objects), nil
		}
	}
	if opts.Pipeline.Analysis.Namespace == "" {
		opts.Pipeline.Analysis.Namespace = spec.Input.Namespace
		if opts.Pipeline.Analysis.Namespace == "" {
			opts.Pipeline.Analysis.Namespace = e.Renderer.DefaultNamespace
		}
	}
	return e.runEngine(ctx, app, p, platform, redactor(platform.Desired, opts.Pipeline.Environ, opts.Pipeline.Redact), store, rec, opts)
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

// runEngine runs (rec nil) or resumes (rec the record) the stages of a
// plan on a platform under the app's lock, recording every transition:
// the part of a deployment that is the same for every platform.
func (e *Env) runEngine(ctx context.Context, app *config.App, p *plan.Plan, platform execute.Platform, redact func(string) string,
	store Store, rec *state.Record, opts SyncOptions) (*state.Record, error) {
	emit := func(format string, args ...any) {
		if opts.Events != nil {
			opts.Events(Event{Time: e.Now(), App: app.Name, Message: fmt.Sprintf(format, args...)})
		}
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
			emit("could not release the lock: %v", err)
		}
	}()
	if resume {
		kind, verb := "resume", "resum"
		if opts.Pipeline.Cancel != "" {
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
		Store: store, Platform: platform, Now: e.Now,
		RollbackTimeout: opts.Pipeline.RollbackTimeout, PollInterval: opts.Pipeline.PollInterval, CancelGrace: opts.Grace,
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
	analysisEnv := opts.Pipeline.Analysis
	if analysisEnv.Previous == nil {
		analysisEnv.Previous = e.previousAnalysis(app.Name)
	}
	d := &execute.Deployment{
		App: app, Plan: p, Record: rec, Timeout: app.Spec.Generic().Timeout.Std(), WaitApproval: opts.Pipeline.WaitApproval, Analysis: analysisEnv,
		Script: execute.ScriptEnv{Dir: dirOf(e.Root, app), Environ: opts.Pipeline.Environ, RepoURL: opts.Pipeline.RepoURL, Redact: redact},
	}
	var runErr error
	if resume && opts.Pipeline.Cancel != "" {
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

func objectsOfRender(m *render.Manifests) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(m.Objects))
	for _, o := range m.Objects {
		out = append(out, o.Object)
	}
	return out
}

// dirOf is the application's directory in the working tree.
func dirOf(root string, app *config.App) string {
	if app.Dir == "" || app.Dir == "." {
		return root
	}
	return filepath.Join(root, app.Dir)
}

// redactor masks, in scripts' output, the values of the manifests' Secrets
// and of the environment variables whose names say they are secret, then
// applies extra.
func redactor(objs []*unstructured.Unstructured, environ []string, extra func(string) string) func(string) string {
	var secrets []string
	for _, u := range objs {
		if u.GetKind() != "Secret" || u.GroupVersionKind().Group != "" {
			continue
		}
		data, _, _ := unstructured.NestedStringMap(u.Object, "data")
		for _, v := range data {
			if b, err := base64.StdEncoding.DecodeString(v); err == nil {
				secrets = append(secrets, string(b))
			}
		}
		sd, _, _ := unstructured.NestedStringMap(u.Object, "stringData")
		for _, v := range sd {
			secrets = append(secrets, v)
		}
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		uk := strings.ToUpper(k)
		for _, w := range []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE_KEY", "API_KEY"} {
			if strings.Contains(uk, w) {
				secrets = append(secrets, v)
				break
			}
		}
	}
	r := execute.Redactor(secrets)
	if extra == nil {
		return r
	}
	return func(s string) string { return extra(r(s)) }
}
