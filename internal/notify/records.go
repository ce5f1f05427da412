package notify

import (
	"fmt"
	"strings"

	"github.com/gitops-pipe/pipe/internal/state"
)

// Context is what the CI run adds to every event of a deployment.
type Context struct {
	CIRunURL string
	PRURL    string
	// CommitURL links a commit hash: "https://github.com/o/r/commit/" + hash.
	CommitURL func(hash string) string
}

// Transitions are the events between two versions of a deployment's
// record: prev is nil when rec was just begun. The record is the one
// source of truth of a deployment, whichever code path moved it (a quick
// sync, a pipeline, a resume, a cancel): deriving the events from its
// versions sends each once, in the order they happened.
func Transitions(prev, rec *state.Record, app App, c Context) []Event {
	var out []Event
	add := func(t Type, f func(*Event)) {
		ev := Event{Type: t, Group: GroupOf(t), Time: rec.UpdatedAt, App: app, Deployment: deployment(rec, c),
			CIRunURL: c.CIRunURL, PRURL: c.PRURL, Actor: rec.Trigger.Actor}
		if ev.CIRunURL == "" {
			ev.CIRunURL = rec.Trigger.CIRunURL
		}
		if f != nil {
			f(&ev)
		}
		out = append(out, ev)
	}
	if prev == nil {
		add(DeploymentTriggered, nil)
		add(DeploymentPlanned, func(e *Event) {
			e.Summary = strings.TrimSpace(string(rec.Strategy) + ": " + rec.StrategyReason)
		})
	}
	var prevStatus state.DeploymentStatus
	if prev != nil {
		prevStatus = prev.Status
	}
	// Stages first: a stage ends before the deployment does.
	for i := range rec.Stages {
		s := &rec.Stages[i]
		var was state.StageStatus
		var wasAnalysis string
		if prev != nil {
			if ps := stageOf(prev, s.ID, s.Name); ps != nil {
				was = ps.Status
				if ps.Analysis != nil {
					wasAnalysis = ps.Analysis.Verdict
				}
			}
		}
		// Approval is the WAIT_APPROVAL stage's: it starts waiting when it
		// notes since when, and is approved when it succeeds (a resume
		// before the approvals came, or --wait-approval polling, moves the
		// deployment's status without either).
		if s.Name == "WAIT_APPROVAL" {
			var wasSince string
			if prev != nil {
				if ps := stageOf(prev, s.ID, s.Name); ps != nil {
					wasSince = ps.Metadata["waitingSince"]
				}
			}
			if s.Metadata["waitingSince"] != "" && wasSince == "" && s.Status == state.StageRunning {
				add(DeploymentWaitApproval, nil)
			}
			if s.Status == state.StageSucceeded && was != state.StageSucceeded {
				add(DeploymentApproved, func(e *Event) { e.Actor = s.Metadata["approvals"] })
			}
		}
		if s.Status != was {
			if t, ok := stageEvent(s.Status); ok && !(t == StageStarted && was != "" && was != state.StageNotStarted) {
				stage := &Stage{ID: s.ID, Name: s.Name, Status: string(s.Status), Reason: s.Reason}
				add(t, func(e *Event) { e.Stage, e.Summary = stage, s.Reason })
			}
		}
		if a := s.Analysis; a != nil && a.Verdict == "FAIL" && wasAnalysis != "FAIL" {
			stage := &Stage{ID: s.ID, Name: s.Name, Status: string(s.Status), Reason: s.Reason}
			an := failedAnalyzer(a)
			add(AnalysisFailed, func(e *Event) { e.Stage, e.Analysis, e.Summary = stage, an, a.Reason })
		}
	}
	if rec.Status != prevStatus {
		switch rec.Status {
		case state.StatusRunning:
			if prevStatus == "" || prevStatus == state.StatusPlanned {
				add(DeploymentStarted, nil)
			}
		case state.StatusRollingBack:
			add(DeploymentRollingBack, func(e *Event) { e.Summary = rec.Reason })
		case state.StatusSucceeded:
			add(DeploymentSucceeded, withStages(rec))
		case state.StatusFailed:
			add(DeploymentFailed, func(e *Event) { withStages(rec)(e); e.Summary = rec.Reason })
		case state.StatusCancelled:
			add(DeploymentCancelled, func(e *Event) {
				withStages(rec)(e)
				e.Summary = rec.Reason
				if by, ok := strings.CutPrefix(rec.Reason, "cancelled by "); ok {
					e.Actor, _, _ = strings.Cut(by, ":")
				}
			})
		}
	}
	return out
}

func stageEvent(s state.StageStatus) (Type, bool) {
	switch s {
	case state.StageRunning:
		return StageStarted, true
	case state.StageSucceeded:
		return StageSucceeded, true
	case state.StageFailed:
		return StageFailed, true
	case state.StageCancelled:
		return StageCancelled, true
	case state.StageSkipped:
		return StageSkipped, true
	}
	return "", false
}

func stageOf(rec *state.Record, id, name string) *state.Stage {
	for i := range rec.Stages {
		if s := &rec.Stages[i]; s.ID == id && s.Name == name {
			return s
		}
	}
	return nil
}

func deployment(rec *state.Record, c Context) *Deployment {
	d := &Deployment{ID: rec.ID, Status: string(rec.Status), Strategy: string(rec.Strategy),
		Commit: Commit{Hash: rec.Target.Hash, Subject: rec.Target.Subject}, StartedAt: rec.StartedAt, EndedAt: rec.EndedAt}
	if c.CommitURL != nil && rec.Target.Hash != "" {
		d.Commit.URL = c.CommitURL(rec.Target.Hash)
	}
	return d
}

// withStages adds the stages and their durations (final events).
func withStages(rec *state.Record) func(*Event) {
	return func(e *Event) {
		for _, s := range rec.Stages {
			ss := StageSummary{Name: s.Name, Status: string(s.Status)}
			if !s.StartedAt.IsZero() && !s.EndedAt.IsZero() {
				ss.Duration = s.EndedAt.Sub(s.StartedAt)
			}
			e.Deployment.Stages = append(e.Deployment.Stages, ss)
		}
	}
}

// failedAnalyzer names the metric that failed an analysis: the first
// analyzer at its failure limit, with its last failing tick.
func failedAnalyzer(a *state.Analysis) *Analysis {
	for _, z := range a.Analyzers {
		if z.FailureLimit == 0 || z.Failures < z.FailureLimit {
			continue
		}
		out := &Analysis{Metric: z.Label, Threshold: z.Expected, Reason: a.Reason}
		if out.Metric == "" {
			out.Metric = z.Name
		}
		for i := len(a.Ticks) - 1; i >= 0; i-- {
			t := a.Ticks[i]
			if t.Analyzer != z.Name || t.Verdict == "PASS" || t.Verdict == "SKIPPED" {
				continue
			}
			if t.Values != nil {
				out.Value = fmt.Sprintf("%g (last of %d points; mean %g)", float64(t.Values.Last), t.Values.N, float64(t.Values.Mean))
			} else if t.Code != 0 {
				out.Value = fmt.Sprintf("HTTP %d", t.Code)
			}
			if t.Reason != "" {
				out.Reason = t.Reason
			}
			break
		}
		return out
	}
	return &Analysis{Metric: "analysis", Reason: a.Reason}
}
