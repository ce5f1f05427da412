package execute

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
)

// EventApproval is the kind of the record events that note an approval
// given outside `pipe approve` (e.g. a PR comment).
const EventApproval = "approval"

// Approval is an approval found by an ApprovalSource.
type Approval struct {
	By   string
	Time time.Time
	// Source says where it was given ("pr-comment"); URL points at it.
	Source string
	URL    string
}

// ApprovalRequest is what an ApprovalSource is asked about: the
// WAIT_APPROVAL stage StageID of deployment Record.
type ApprovalRequest struct {
	Record  *state.Record
	StageID string
	// Approvers are the stage's approvers; empty means anyone the source
	// considers allowed (e.g. users with write access to the repository).
	Approvers []string
}

// ApprovalSource finds approvals given outside the deployment record, such
// as `/pipe approve` PR comments. It returns only approvals by allowed
// users given after the deployment started. The CLI builds it: the engine
// itself does no network I/O.
type ApprovalSource interface {
	Approvals(ctx context.Context, req ApprovalRequest) ([]Approval, error)
}

type approvalSourceKey struct{}

// WithApprovalSource returns a context carrying src: the WAIT_APPROVAL
// stages run under it ask src for approvals at every evaluation.
func WithApprovalSource(ctx context.Context, src ApprovalSource) context.Context {
	if src == nil {
		return ctx
	}
	return context.WithValue(ctx, approvalSourceKey{}, src)
}

// ApprovalSourceFrom returns the source WithApprovalSource put in ctx, or nil.
func ApprovalSourceFrom(ctx context.Context) ApprovalSource {
	src, _ := ctx.Value(approvalSourceKey{}).(ApprovalSource)
	return src
}

// CollectApprovals asks src for the approvals of stage st of rec and
// records the new ones: the approver is added to the stage's approvals
// (counted with the others, once per person) and an EventApproval event
// notes when, where and the URL. It returns the approvals added.
func CollectApprovals(ctx context.Context, src ApprovalSource, rec *state.Record, st *state.Stage, o *config.WaitApprovalStageOptions) ([]Approval, error) {
	if src == nil || st == nil {
		return nil, nil
	}
	if o == nil {
		o = &config.WaitApprovalStageOptions{}
	}
	found, err := src.Approvals(ctx, ApprovalRequest{Record: rec, StageID: st.ID, Approvers: slices.Clone(o.Approvers)})
	if err != nil {
		return nil, err
	}
	got := Approvals(st)
	var added []Approval
	for _, a := range found {
		by := strings.TrimSpace(a.By)
		if by == "" || strings.Contains(by, ",") || slices.Contains(got, by) {
			continue
		}
		if len(o.Approvers) > 0 && !slices.Contains(o.Approvers, by) {
			continue
		}
		if !rec.StartedAt.IsZero() && a.Time.Before(rec.StartedAt) {
			continue
		}
		got = append(got, by)
		a.By = by
		added = append(added, a)
		msg := fmt.Sprintf("stage %s approved by %s", st.ID, by)
		if a.Source != "" {
			msg += " (" + a.Source + ")"
		}
		if a.URL != "" {
			msg += ": " + a.URL
		}
		rec.Events = append(rec.Events, state.Event{Time: a.Time, Kind: EventApproval, Actor: by, Message: msg})
	}
	if len(added) > 0 {
		if st.Metadata == nil {
			st.Metadata = map[string]string{}
		}
		st.Metadata[MetaApprovals] = strings.Join(got, ",")
	}
	return added, nil
}

// collectApprovals is the WAIT_APPROVAL stage's hook: approvals from the
// context's source are recorded (and checkpointed); a failure to read
// them only warns.
func (e *Engine) collectApprovals(ctx context.Context, st *Stage, o *config.WaitApprovalStageOptions) {
	src := ApprovalSourceFrom(ctx)
	if src == nil {
		return
	}
	added, err := CollectApprovals(ctx, src, st.Deployment.Record, st.Record, o)
	if err != nil {
		st.Warnf("could not read approvals: %v", err)
		return
	}
	for _, a := range added {
		where := a.Source
		if a.URL != "" {
			where += " " + a.URL
		}
		st.Emitf("approved by %s (%s)", a.By, strings.TrimSpace(where))
	}
	if len(added) > 0 {
		if err := st.Checkpoint(); err != nil {
			st.Warnf("could not record the approvals: %v", err)
		}
	}
}
