package execute

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/ctxtime"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Stage metadata keys of the generic stages.
const (
	// MetaWaitStartedAt is when a WAIT stage started waiting (RFC 3339): a
	// resumed WAIT waits only the remainder.
	MetaWaitStartedAt = "waitStartedAt"
	// MetaApprovalSince is when a WAIT_APPROVAL stage started waiting.
	MetaApprovalSince = "waitingSince"
	// MetaApprovals lists the approvers so far, comma-separated, in order.
	MetaApprovals = "approvals"
)

// wait waits the WAIT stage's duration, from the start time noted in the
// record: a resumed deployment waits only what remains.
func (e *Engine) wait(ctx context.Context, st *Stage) error {
	d := time.Minute
	if o, ok := st.Options().(*config.WaitStageOptions); ok && o.Duration > 0 {
		d = o.Duration.Std()
	}
	start, err := time.Parse(time.RFC3339Nano, st.Record.Metadata[MetaWaitStartedAt])
	fresh := err != nil
	if fresh {
		start = e.Now()
		st.SetMeta(MetaWaitStartedAt, start.UTC().Format(time.RFC3339Nano))
		st.SetMeta("duration", d.String())
		if err := st.Checkpoint(); err != nil {
			return fmt.Errorf("record the deployment: %w", err)
		}
	}
	remaining := d - e.Now().Sub(start)
	if remaining <= 0 {
		st.Emitf("waited %s", d)
		return nil
	}
	if !fresh {
		st.Emitf("waiting %s more (of %s, started %s)", remaining.Round(time.Second), d, start.UTC().Format(time.RFC3339))
	} else {
		st.Emitf("waiting %s", d)
	}
	if ctxtime.Sleep(ctx, remaining) != nil {
		return context.Cause(ctx)
	}
	return nil
}

// waitApproval completes when enough distinct approvers approved (see
// Approve). Otherwise it pauses the deployment (ErrWaitingApproval), or
// with Deployment.WaitApproval polls the record until the approvals come
// or the stage's timeout passes.
func (e *Engine) waitApproval(ctx context.Context, st *Stage) error {
	o, _ := st.Options().(*config.WaitApprovalStageOptions)
	if o == nil {
		o = &config.WaitApprovalStageOptions{}
	}
	timeout := cmp(o.Timeout.Std(), 6*time.Hour)
	need := max(o.MinApproverNum, 1)
	since, err := time.Parse(time.RFC3339Nano, st.Record.Metadata[MetaApprovalSince])
	if err != nil {
		since = e.Now()
		st.SetMeta(MetaApprovalSince, since.UTC().Format(time.RFC3339Nano))
		if err := st.Checkpoint(); err != nil {
			return fmt.Errorf("record the deployment: %w", err)
		}
	}
	announced := false
	for {
		e.collectApprovals(ctx, st, o)
		got := Approvals(st.Record)
		if len(got) >= need {
			st.Emitf("approved by %s", strings.Join(got, ", "))
			return nil
		}
		if e.Now().Sub(since) >= timeout {
			return fmt.Errorf("not approved within %s (%d of %d approvals)", timeout, len(got), need)
		}
		who := "anyone"
		if len(o.Approvers) > 0 {
			who = strings.Join(o.Approvers, ", ")
		}
		if !announced {
			st.Emitf("waiting for %d approval(s) (%d so far) from %s: pipe approve %s", need, len(got), who, st.Deployment.Record.App)
			announced = true
		}
		if !st.Deployment.WaitApproval {
			return ErrWaitingApproval
		}
		if ctxtime.Sleep(ctx, cmp(e.PollInterval, 5*time.Second)) != nil {
			return context.Cause(ctx)
		}
		rec := st.Deployment.Record
		fresh, err := e.Store.Get(ctx, rec.App, rec.ID)
		if err != nil {
			st.Warnf("could not read the record for approvals: %v", err)
			continue
		}
		if fs := stageRecord(fresh, st.Plan.ID); fs != nil && fs.Metadata[MetaApprovals] != "" {
			st.SetMeta(MetaApprovals, fs.Metadata[MetaApprovals])
		}
		rec.Revision = max(rec.Revision, fresh.Revision)
	}
}

// Approvals returns the distinct approvers recorded on a stage.
func Approvals(s *state.Stage) []string {
	var out []string
	for _, a := range strings.Split(s.Metadata[MetaApprovals], ",") {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Approve records by's approval of the WAIT_APPROVAL stage rec is waiting
// at. opts are the stage's options (who may approve, how many). It returns
// the stage and whether the approvals now suffice.
func Approve(rec *state.Record, opts func(stageID string) *config.WaitApprovalStageOptions, by string) (*state.Stage, bool, error) {
	if rec.Status.IsTerminal() {
		return nil, false, fmt.Errorf("deployment %s has finished (%s)", rec.ID, rec.Status)
	}
	var st *state.Stage
	for i := range rec.Stages {
		s := &rec.Stages[i]
		if s.Name == string(config.StageWaitApproval) && s.Status == state.StageRunning {
			st = s
			break
		}
	}
	if st == nil {
		return nil, false, fmt.Errorf("deployment %s is not waiting for approval (%s)", rec.ID, rec.Status)
	}
	o := opts(st.ID)
	if o == nil {
		o = &config.WaitApprovalStageOptions{}
	}
	by = strings.TrimSpace(by)
	if by == "" || strings.Contains(by, ",") {
		return st, false, fmt.Errorf("invalid approver name %q", by)
	}
	if len(o.Approvers) > 0 && !slices.Contains(o.Approvers, by) {
		return st, false, fmt.Errorf("%s may not approve stage %s: the approvers are %s", by, st.ID, strings.Join(o.Approvers, ", "))
	}
	got := Approvals(st)
	if slices.Contains(got, by) {
		return st, len(got) >= max(o.MinApproverNum, 1), fmt.Errorf("%s already approved stage %s", by, st.ID)
	}
	got = append(got, by)
	if st.Metadata == nil {
		st.Metadata = map[string]string{}
	}
	st.Metadata[MetaApprovals] = strings.Join(got, ",")
	return st, len(got) >= max(o.MinApproverNum, 1), nil
}

// Options returns the stage's typed options (its `with`, as configured); nil for predefined stages and stages without options.
func (s *Stage) Options() any {
	if s.Config == nil {
		return nil
	}
	return s.Config.With
}
