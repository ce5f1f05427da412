package execute

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Cancel ends an unfinished deployment on request (`pipe cancel`): the
// stage it stopped at is recorded CANCELLED, the rollback runs when
// autoRollback, and the record ends CANCELLED with reason. It returns the
// *Failure describing that end.
func (e *Engine) Cancel(ctx context.Context, d *Deployment, reason string) error {
	now := e.Now()
	for i := range d.Record.Stages {
		if rs := &d.Record.Stages[i]; rs.Status == state.StageRunning {
			rs.Status, rs.Reason, rs.EndedAt = state.StageCancelled, reason, now
			e.emit(Event{Stage: rs.Name, StageID: rs.ID, Message: "cancelled: " + reason, Warning: true})
		}
	}
	return e.finish(ctx, d, state.StatusCancelled, reason, nil)
}

// interrupted reports whether a record is that of a deployment which had
// failed or been cancelled when its job died, and with which status it
// ends.
func interrupted(rec *state.Record) (state.DeploymentStatus, bool) {
	status, failed := state.StatusFailed, rec.Status == state.StatusRollingBack
	for _, s := range rec.Stages {
		switch s.Status {
		case state.StageCancelled:
			status, failed = state.StatusCancelled, true
		case state.StageFailed:
			failed = true
		}
	}
	if failed && rec.Reason == "" {
		rec.Reason = "the deployment failed"
	}
	return status, failed
}

// finish ends a failed or cancelled deployment: the rollback when
// autoRollback, then the final record.
func (e *Engine) finish(ctx context.Context, d *Deployment, status state.DeploymentStatus, reason string, cause error) error {
	rec := d.Record
	f := &Failure{Status: status, Reason: reason, Err: cause}
	lost := errors.Is(context.Cause(ctx), state.ErrLockLost)
	if d.Plan.AutoRollback && lost {
		// Another deployment holds the app now, or may at any moment (the
		// lease ran out): rolling back would undo its work.
		why := "another deployment took the lock over"
		if errors.Is(context.Cause(ctx), ErrLeaseExpired) {
			why = "the lock's lease ran out while it could not be renewed, and another deployment may hold it"
		}
		f.Reason += "; not rolled back: " + why
	}
	cl := e.cleanup(ctx)
	if d.Plan.AutoRollback && !lost {
		rec.Status, rec.Reason = state.StatusRollingBack, reason
		e.emit(Event{Message: "rolling back: " + reason, Warning: true})
		if err := e.record(cl, rec); err != nil {
			e.emit(Event{Message: "could not record the rollback: " + err.Error(), Warning: true})
		}
		// After an interruption the rollback has what is left of the
		// cleanup budget but the final record's and the unlock's share.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp(e.RollbackTimeout, 10*time.Minute))
		if cl.Interrupted() {
			cancel()
			rctx, cancel = cl.Context(cl.Reserve())
		}
		err := e.rollback(rctx, d)
		cancel()
		if err != nil {
			f.Reason += "; the rollback failed: " + err.Error()
			f.Err = errors.Join(f.Err, err)
		} else {
			f.RolledBack = true
			f.Reason += "; rolled back"
		}
	}
	rec.Status, rec.Reason, rec.EndedAt = f.Status, f.Reason, e.Now()
	if err := e.record(cl, rec); err != nil {
		return errors.Join(f, fmt.Errorf("record the outcome: %w", err))
	}
	return f
}

// rollback runs the ROLLBACK stage, then the onRollback scripts of the
// SCRIPT_RUN stages that started.
func (e *Engine) rollback(ctx context.Context, d *Deployment) error {
	var errs []error
	for _, ps := range d.Plan.Stages {
		if !ps.Rollback {
			continue
		}
		rs := stageRecord(d.Record, ps.ID)
		if rs == nil {
			continue
		}
		if ps.Name == plan.StageScriptRunRollback {
			if of := stageRecord(d.Record, ps.RollbackOf); of == nil || of.Status == state.StageNotStarted || of.Status == state.StageSkipped {
				rs.Status, rs.Reason = state.StageSkipped, "its SCRIPT_RUN stage did not run"
				continue
			}
		}
		rs.Status, rs.StartedAt, rs.Reason = state.StageRunning, e.Now(), ""
		e.emit(Event{Stage: string(ps.Name), StageID: ps.ID, Message: "started" + describe(ps)})
		if err := e.Store.Update(ctx, d.Record); err != nil {
			e.emit(Event{Message: "could not record the rollback: " + err.Error(), Warning: true})
		}
		st := e.stage(d, ps, rs)
		var err error
		switch {
		case ps.Name == plan.StageScriptRunRollback:
			err = e.scriptRollback(ctx, st)
		case e.Platform != nil:
			err = e.Platform.Rollback(ctx, st)
		}
		rs.EndedAt = e.Now()
		if err != nil {
			rs.Status, rs.Reason = state.StageFailed, err.Error()
			e.emit(Event{Stage: string(ps.Name), StageID: ps.ID, Message: "failed: " + err.Error(), Warning: true})
			errs = append(errs, fmt.Errorf("%s: %w", ps.ID, err))
		} else {
			rs.Status = state.StageSucceeded
			e.emit(Event{Stage: string(ps.Name), StageID: ps.ID, Message: "succeeded"})
		}
		if err := e.Store.Update(ctx, d.Record); err != nil {
			e.emit(Event{Message: "could not record the rollback: " + err.Error(), Warning: true})
		}
	}
	return errors.Join(errs...)
}
