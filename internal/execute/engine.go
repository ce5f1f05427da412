package execute

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Event is one step of a deployment, for the report layer to render.
type Event struct {
	Time time.Time
	// Stage is the stage's name (e.g. K8S_CANARY_ROLLOUT); empty for
	// events about the deployment as a whole.
	Stage   string
	StageID string
	Message string
	// Warning marks events that need attention; Output marks lines a
	// script printed (already redacted).
	Warning bool
	Output  bool
}

// Store is the part of the record store the engine writes and reads.
type Store interface {
	Update(ctx context.Context, rec *state.Record) error
	Get(ctx context.Context, app, id string) (*state.Record, error)
}

// Platform runs the stages of one platform kind.
type Platform interface {
	// RunStage runs a platform stage (e.g. K8S_CANARY_ROLLOUT). It must be
	// idempotent: a resumed deployment runs again a stage that was
	// interrupted.
	RunStage(ctx context.Context, st *Stage) error
	// Rollback reverts the deployment to the last successful one and
	// removes what the deployment created.
	Rollback(ctx context.Context, st *Stage) error
}

// Stage is what a stage works with.
type Stage struct {
	Plan plan.Stage
	// Config is the stage as configured; nil for predefined stages.
	Config *config.PipelineStage
	// Record is the stage's entry in the deployment record: its Metadata
	// is the stage's to fill; Checkpoint writes it.
	Record     *state.Stage
	Deployment *Deployment
	emit       func(Event)
	checkpoint func() error
	now        func() time.Time
}

// Emitf emits a progress event of the stage.
func (s *Stage) Emitf(format string, args ...any) {
	s.emit(Event{Stage: string(s.Plan.Name), StageID: s.Plan.ID, Message: fmt.Sprintf(format, args...)})
}

// Warnf emits a warning of the stage.
func (s *Stage) Warnf(format string, args ...any) {
	s.emit(Event{Stage: string(s.Plan.Name), StageID: s.Plan.ID, Message: fmt.Sprintf(format, args...), Warning: true})
}

// SetMeta sets a metadata value of the stage (written at the next checkpoint).
func (s *Stage) SetMeta(key, value string) {
	if s.Record.Metadata == nil {
		s.Record.Metadata = map[string]string{}
	}
	s.Record.Metadata[key] = value
}

// Checkpoint writes the record now (e.g. after the stage noted the
// resources it created).
func (s *Stage) Checkpoint() error { return s.checkpoint() }

// Deployment is one run (or resumption) of a pipeline.
type Deployment struct {
	App  *config.App
	Plan *plan.Plan
	// Record is the deployment's record, written by Begin; the engine
	// updates it in place.
	Record *state.Record
	// Timeout bounds the whole deployment from Record.StartedAt
	// (spec.timeout; 6h when zero), across resumptions.
	Timeout time.Duration
	// WaitApproval keeps waiting (polling the record) at a WAIT_APPROVAL
	// stage instead of pausing the deployment.
	WaitApproval bool
	// Script is what SCRIPT_RUN stages run with.
	Script ScriptEnv
	// Analysis is what ANALYSIS stages run with.
	Analysis AnalysisEnv
}

// Engine runs deployments.
type Engine struct {
	Store    Store
	Platform Platform
	Now      func() time.Time
	Events   func(Event)
	// RollbackTimeout bounds an automated rollback (default 10m); it runs
	// after the deployment's own context was cancelled or timed out.
	RollbackTimeout time.Duration
	// CancelGrace bounds the cleanup after an interruption (SIGINT/SIGTERM
	// of a CI job, which is killed soon after; default DefaultGrace): the
	// rollback and the final record together.
	CancelGrace time.Duration
	// Cleanup, when set, is the budget the engine's cleanup shares with
	// the caller's (the unlock after it); nil starts one of CancelGrace.
	Cleanup *Cleanup
	// PollInterval is how often a waiting WAIT_APPROVAL stage reads the
	// record for approvals (default 5s).
	PollInterval time.Duration
}

// ErrWaitingApproval is returned when the deployment paused at a
// WAIT_APPROVAL stage: the record says WAITING_APPROVAL; approve it and
// resume.
var ErrWaitingApproval = errors.New("waiting for approval")

// Failure is the error of a deployment that failed (or was cancelled):
// Status and Reason are the record's, RolledBack says whether the
// automated rollback succeeded.
type Failure struct {
	Status     state.DeploymentStatus
	Reason     string
	RolledBack bool
	// Err is the cause: the stage's error, or the context's on cancellation.
	Err error
}

func (f *Failure) Error() string { return strings.ToLower(string(f.Status)) + ": " + f.Reason }
func (f *Failure) Unwrap() error { return f.Err }

var errDeploymentTimeout = errors.New("deployment timeout")

// timeoutError is the cause of a stage's context when its timeout passed.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }

func isStageTimeout(err error) bool {
	var t *timeoutError
	return errors.As(err, &t)
}

// Run runs the stages of d that are not finished, in order, then the
// rollback when one fails. It returns nil when the deployment succeeded,
// ErrWaitingApproval when it paused, else a *Failure (wrapping ctx's
// error when ctx was cancelled). The record is written at every
// transition; the final write uses a context of its own.
func (e *Engine) Run(ctx context.Context, d *Deployment) error {
	rec := d.Record
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 6 * time.Hour
	}
	if rec.StartedAt.IsZero() {
		rec.StartedAt = e.Now()
	}
	if status, ok := interrupted(rec); ok {
		// Killed while rolling back (or before it could start): finish
		// the rollback; the stages are not run again.
		e.emit(Event{Message: "the deployment had failed: finishing its rollback", Warning: true})
		return e.finish(ctx, d, status, rec.Reason, nil)
	}
	rec.Status = state.StatusRunning
	if err := e.Store.Update(ctx, rec); err != nil {
		return fmt.Errorf("record the deployment: %w", err)
	}
	dctx, cancel := context.WithDeadlineCause(ctx, rec.StartedAt.Add(timeout), errDeploymentTimeout)
	defer cancel()
	for _, ps := range d.Plan.Stages {
		if ps.Rollback {
			continue
		}
		rs := stageRecord(rec, ps.ID)
		if rs == nil {
			return fmt.Errorf("the record of deployment %s has no stage %s", rec.ID, ps.ID)
		}
		if rs.Status == state.StageSucceeded || rs.Status == state.StageSkipped {
			continue
		}
		if ps.Skip != "" {
			now := e.Now()
			rs.Status, rs.Reason, rs.StartedAt, rs.EndedAt = state.StageSkipped, ps.Skip, now, now
			e.emit(Event{Stage: string(ps.Name), StageID: ps.ID, Message: "skipped: " + ps.Skip})
			if err := e.Store.Update(dctx, rec); err != nil {
				return e.finish(ctx, d, state.StatusFailed, "record the deployment: "+err.Error(), err)
			}
			continue
		}
		err := e.runStage(dctx, d, ps, rs)
		if err == nil {
			continue
		}
		var end *EndDeployment
		if errors.As(err, &end) {
			// The stage succeeded and ended the deployment early (e.g.
			// TERRAFORM_PLAN with exitOnNoChanges and nothing to apply).
			if err := e.endEarly(dctx, d, ps, rs, end.Reason); err != nil {
				return e.finish(ctx, d, state.StatusFailed, "record the deployment: "+err.Error(), err)
			}
			break
		}
		if errors.Is(err, ErrWaitingApproval) {
			rec.Status = state.StatusWaitingApproval
			if uerr := e.record(e.cleanup(ctx), rec); uerr != nil {
				return errors.Join(err, fmt.Errorf("record the deployment: %w", uerr))
			}
			return err
		}
		status, reason := e.classify(ctx, dctx, err, timeout)
		stageStatus := state.StageFailed
		if status == state.StatusCancelled {
			stageStatus = state.StageCancelled
		}
		rs.Status, rs.Reason, rs.EndedAt = stageStatus, reason, e.Now()
		e.emit(Event{Stage: string(ps.Name), StageID: ps.ID, Message: strings.ToLower(string(stageStatus)) + ": " + reason, Warning: true})
		if ctx.Err() != nil {
			err = errors.Join(context.Cause(ctx), err)
		}
		return e.finish(ctx, d, status, fmt.Sprintf("stage %s (%s) %s: %s", ps.ID, ps.Name, strings.ToLower(string(stageStatus)), reason), err)
	}
	rec.Status, rec.Reason, rec.EndedAt = state.StatusSucceeded, "", e.Now()
	if err := e.record(e.cleanup(ctx), rec); err != nil {
		return fmt.Errorf("record the outcome: %w", err)
	}
	return nil
}

// EndDeployment is returned by a stage that succeeded and ends the
// deployment successfully: the stages after it are skipped with Reason.
type EndDeployment struct{ Reason string }

func (e *EndDeployment) Error() string { return "the deployment ends here: " + e.Reason }

// endEarly records the stage succeeded and the rest skipped.
func (e *Engine) endEarly(ctx context.Context, d *Deployment, ps plan.Stage, rs *state.Stage, reason string) error {
	now := e.Now()
	rs.Status, rs.Reason, rs.EndedAt = state.StageSucceeded, reason, now
	e.emit(Event{Stage: string(ps.Name), StageID: ps.ID, Message: "succeeded: " + reason})
	for i := range d.Record.Stages {
		other := &d.Record.Stages[i]
		if other.Status != state.StageNotStarted || other.ID == ps.ID || isRollbackStageID(d.Plan, other.ID) {
			continue
		}
		other.Status, other.Reason, other.StartedAt, other.EndedAt = state.StageSkipped, "the deployment ended at "+ps.ID+": "+reason, now, now
		e.emit(Event{Stage: other.Name, StageID: other.ID, Message: "skipped: " + other.Reason})
	}
	return e.Store.Update(ctx, d.Record)
}

func isRollbackStageID(p *plan.Plan, id string) bool {
	for _, s := range p.Stages {
		if s.ID == id {
			return s.Rollback
		}
	}
	return false
}

// classify says what an error of a stage means for the deployment.
func (e *Engine) classify(ctx, dctx context.Context, err error, timeout time.Duration) (state.DeploymentStatus, string) {
	switch {
	case ctx.Err() != nil:
		cause := context.Cause(ctx)
		if errors.Is(cause, context.Canceled) {
			return state.StatusCancelled, "interrupted: the deployment was cancelled (SIGINT/SIGTERM)"
		}
		return state.StatusFailed, cause.Error() + ": " + err.Error()
	case errors.Is(context.Cause(dctx), errDeploymentTimeout):
		return state.StatusFailed, fmt.Sprintf("the deployment timed out after %s (spec.timeout): %v", timeout, err)
	case isStageTimeout(err):
		return state.StatusFailed, err.Error()
	}
	return state.StatusFailed, err.Error()
}

// runStage runs one stage, recording it RUNNING and then SUCCEEDED.
func (e *Engine) runStage(ctx context.Context, d *Deployment, ps plan.Stage, rs *state.Stage) error {
	rec := d.Record
	if rs.StartedAt.IsZero() {
		rs.StartedAt = e.Now()
		e.emit(Event{Stage: string(ps.Name), StageID: ps.ID, Message: "started" + describe(ps)})
	} else {
		e.emit(Event{Stage: string(ps.Name), StageID: ps.ID, Message: "resumed" + describe(ps)})
	}
	rs.Status, rs.Reason = state.StageRunning, ""
	if err := e.Store.Update(ctx, rec); err != nil {
		return fmt.Errorf("record the deployment: %w", err)
	}
	st := e.stage(d, ps, rs)
	sctx := ctx
	if t := ps.Timeout.Std(); t > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeoutCause(ctx, t, &timeoutError{fmt.Sprintf("the stage timed out after %s (timeout)", t)})
		defer cancel()
	}
	err := e.dispatch(sctx, st)
	if err != nil {
		if c := context.Cause(sctx); isStageTimeout(c) && ctx.Err() == nil && !isStageTimeout(err) {
			return fmt.Errorf("%w: %v", c, err)
		}
		return err
	}
	rs.Status, rs.EndedAt = state.StageSucceeded, e.Now()
	e.emit(Event{Stage: string(ps.Name), StageID: ps.ID, Message: "succeeded in " + rs.EndedAt.Sub(rs.StartedAt).Round(time.Second).String()})
	if err := e.Store.Update(ctx, rec); err != nil {
		return fmt.Errorf("record the deployment: %w", err)
	}
	return nil
}

func describe(ps plan.Stage) string {
	switch {
	case ps.Desc != "":
		return ": " + ps.Desc
	case ps.Summary != "":
		return ": " + ps.Summary
	}
	return ""
}

func (e *Engine) dispatch(ctx context.Context, st *Stage) error {
	switch st.Plan.Name {
	case config.StageWait:
		return e.wait(ctx, st)
	case config.StageWaitApproval:
		return e.waitApproval(ctx, st)
	case config.StageScriptRun:
		return e.scriptRun(ctx, st)
	case config.StageAnalysis:
		return e.analysis(ctx, st)
	}
	if e.Platform == nil {
		return fmt.Errorf("stage %s is not supported for %s", st.Plan.Name, st.Deployment.App.Kind)
	}
	return e.Platform.RunStage(ctx, st)
}

func (e *Engine) stage(d *Deployment, ps plan.Stage, rs *state.Stage) *Stage {
	st := &Stage{Plan: ps, Record: rs, Deployment: d, emit: e.emit, now: e.Now,
		checkpoint: func() error { return e.Store.Update(context.Background(), d.Record) }}
	if ps.Index >= 0 && !ps.Predefined && d.App != nil {
		if p := d.App.Spec.Generic().Pipeline; p != nil && ps.Index < len(p.Stages) {
			st.Config = &p.Stages[ps.Index]
		}
	}
	return st
}

// cleanup is the budget of what follows ctx's end: the caller's, or one
// of CancelGrace.
func (e *Engine) cleanup(ctx context.Context) *Cleanup {
	if e.Cleanup != nil {
		return e.Cleanup
	}
	return NewCleanup(ctx, e.CancelGrace)
}

// record writes rec once the run may have been cancelled: within the
// cleanup budget after an interruption (leaving the unlock its share),
// else within recordTimeout.
func (e *Engine) record(c *Cleanup, rec *state.Record) error {
	ctx, cancel := c.Context(c.UnlockReserve())
	defer cancel()
	return e.Store.Update(ctx, rec)
}

func (e *Engine) emit(ev Event) {
	if e.Events == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = e.Now()
	}
	e.Events(ev)
}

func stageRecord(rec *state.Record, id string) *state.Stage {
	for i := range rec.Stages {
		if rec.Stages[i].ID == id {
			return &rec.Stages[i]
		}
	}
	return nil
}

func cmp(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// NewRecordStages lays out the record's stages of a plan, all NOT_STARTED.
func NewRecordStages(p *plan.Plan) []state.Stage {
	out := make([]state.Stage, 0, len(p.Stages))
	for _, s := range p.Stages {
		out = append(out, state.Stage{ID: s.ID, Name: string(s.Name), Status: state.StageNotStarted})
	}
	return out
}
