package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/state"
)

// ResultMarker is the hidden marker of the result comment of app: one
// sticky comment per application (and title) on a pull request, updated by
// each deployment of the app.
func ResultMarker(title, app string) string {
	return "<!-- pipe:result title=" + markerTitle(title) + " app=" + markerTitle(app) + " -->"
}

func statusIcon(s state.DeploymentStatus) string {
	switch s {
	case state.StatusSucceeded:
		return "✅"
	case state.StatusFailed:
		return "❌"
	case state.StatusCancelled:
		return "⛔"
	case state.StatusWaitingApproval:
		return "⏸️"
	}
	return "⏳"
}

func stageIcon(s state.StageStatus) string {
	switch s {
	case state.StageSucceeded:
		return "✅"
	case state.StageFailed:
		return "❌"
	case state.StageSkipped:
		return "⏭️"
	case state.StageCancelled:
		return "⛔"
	case state.StageRunning:
		return "⏳"
	}
	return "▫️"
}

// RolledBack reports whether a rollback stage of the deployment ran.
func RolledBack(rec *state.Record) bool {
	for _, s := range rec.Stages {
		if strings.Contains(s.Name, "ROLLBACK") && s.Status != state.StageNotStarted && s.Status != state.StageSkipped {
			return true
		}
	}
	return false
}

// ResultComment renders the outcome of a deployment for a pull request or
// a commit: status, strategy and why, stages with durations and their
// details (analysis verdicts, applied objects), rollback, record id and
// the run link. now dates a deployment still running.
func ResultComment(title string, c ci.Context, rec *state.Record, now time.Time) string {
	var b strings.Builder
	b.WriteString(ResultMarker(title, rec.App) + "\n")
	fmt.Fprintf(&b, "### %s pipe sync %s: %s\n\n", statusIcon(rec.Status), escapeCell(rec.App), rec.Status)
	facts := []string{}
	if rec.Kind != "" {
		facts = append(facts, code(rec.Kind))
	}
	if l := commitLink(c, rec.Target.Hash); l != "" {
		facts = append(facts, "commit "+l)
	}
	switch rec.Strategy {
	case state.StrategyPipeline:
		facts = append(facts, "🚦 pipeline")
	case state.StrategyQuickSync:
		facts = append(facts, "⚡ quick sync")
	}
	if d := rec.Duration(now); d > 0 {
		facts = append(facts, "took "+d.Round(time.Second).String())
	}
	run := rec.Trigger.CIRunURL
	if run == "" {
		run = c.RunURL
	}
	if run != "" {
		facts = append(facts, "[CI run]("+run+")")
	}
	b.WriteString(strings.Join(facts, " · ") + "\n\n")
	if rec.StrategyReason != "" {
		fmt.Fprintf(&b, "> %s\n\n", escapeCell(rec.StrategyReason))
	}
	if rec.Reason != "" {
		fmt.Fprintf(&b, "**Reason:** %s\n\n", escapeCell(rec.Reason))
	}
	if RolledBack(rec) {
		b.WriteString("**Rolled back** to the previous deployment")
		if rec.Running != nil && rec.Running.Hash != "" {
			b.WriteString(" (" + code(shortHash(rec.Running.Hash)) + ")")
		}
		b.WriteString(".\n\n")
	}
	if len(rec.Stages) > 0 {
		b.WriteString("| Stage | Status | Duration | Details |\n|---|---|---|---|\n")
		for _, s := range rec.Stages {
			dur := ""
			if !s.StartedAt.IsZero() {
				end := s.EndedAt
				if end.IsZero() {
					end = now
				}
				if end.After(s.StartedAt) {
					dur = end.Sub(s.StartedAt).Round(time.Second).String()
				}
			}
			details := stageDetails(s)
			fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n", code(s.Name), stageIcon(s.Status), s.Status, dur, details)
		}
		b.WriteString("\n")
	}
	for _, s := range rec.Stages {
		writeAnalysis(&b, s)
	}
	fmt.Fprintf(&b, "Record %s · `pipe history %s`\n", code(rec.ID), rec.App)
	return b.String()
}

// stageDetails is the stage's reason and metadata (analysis results,
// applied objects) in one table cell.
func stageDetails(s state.Stage) string {
	var parts []string
	if s.Reason != "" {
		parts = append(parts, s.Reason)
	}
	keys := make([]string, 0, len(s.Metadata))
	for k := range s.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+clip(s.Metadata[k], 200))
	}
	return escapeCell(clip(strings.Join(parts, "; "), 1000))
}

func shortHash(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

// ResultOptions tune what PostGitHubResult does.
type ResultOptions struct {
	// Title as for plan comments (`--title`).
	Title string
	// Environment is the deployment environment (the app's env label, else
	// the app name).
	Environment string
	// PR is the pull request to comment on; 0 looks up the one that
	// introduced the commit.
	PR int
	// Redactor masks secrets in the comment.
	Redactor *Redactor
	// Comment, Deployment and Status select the reports.
	Comment, Deployment, Status bool
	// Now dates deployments still running.
	Now time.Time
}

// ResultPosted says what PostGitHubResult did.
type ResultPosted struct {
	CommentURL   string
	DeploymentID int64
	PR           int
}

// PostGitHubResult reports a deployment record on GitHub: a sticky result
// comment on the pull request that introduced the commit (or a comment on
// the commit when none did), a deployment with its status on the
// environment (the repository's Environments page), and a commit status
// pipe/sync/<app>. Every report is tried; the errors are joined.
func PostGitHubResult(ctx context.Context, gh *GitHub, c ci.Context, rec *state.Record, o ResultOptions) (ResultPosted, error) {
	var out ResultPosted
	var errs []error
	sha := rec.Target.Hash
	if sha == "" {
		sha = c.SHA
	}
	run := rec.Trigger.CIRunURL
	if run == "" {
		run = c.RunURL
	}
	desc := fmt.Sprintf("%s %s (%s)", rec.App, strings.ToLower(string(rec.Status)), rec.Strategy)
	if o.Deployment {
		env := o.Environment
		if env == "" {
			env = rec.App
		}
		id, err := gh.CreateDeployment(ctx, Deployment{Ref: sha, Environment: env, Description: "pipe sync " + rec.App,
			Production: strings.Contains(strings.ToLower(env), "prod"),
			Payload:    map[string]string{"app": rec.App, "record": rec.ID}})
		if err == nil {
			out.DeploymentID = id
			err = gh.DeploymentStatus(ctx, id, deploymentState(rec.Status), desc, run)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("deployment: %w", err))
		}
	}
	if o.Status {
		if err := gh.CommitStatus(ctx, sha, commitState(rec.Status), "pipe/sync/"+rec.App, desc, run); err != nil {
			errs = append(errs, fmt.Errorf("commit status: %w", err))
		}
	}
	if o.Comment {
		body := o.Redactor.Redact(ResultComment(o.Title, c, rec, o.Now))
		pr := o.PR
		if pr == 0 {
			n, err := gh.PullRequestForCommit(ctx, sha)
			if err != nil {
				errs = append(errs, fmt.Errorf("finding the pull request of %s: %w", shortHash(sha), err))
			}
			pr = n
		}
		out.PR = pr
		if pr > 0 {
			res, err := Upsert(ctx, gh.PR(pr), strings.TrimSuffix(ResultMarker(o.Title, rec.App), " -->"), []string{body})
			out.CommentURL = res.URL
			if err != nil {
				errs = append(errs, fmt.Errorf("result comment: %w", err))
			}
		} else if sha != "" {
			u, err := gh.CommitComment(ctx, sha, body)
			out.CommentURL = u
			if err != nil {
				errs = append(errs, fmt.Errorf("commit comment: %w", err))
			}
		}
	}
	return out, errors.Join(errs...)
}

// deploymentState maps a record status to a GitHub deployment state.
func deploymentState(s state.DeploymentStatus) string {
	switch s {
	case state.StatusSucceeded:
		return "success"
	case state.StatusFailed:
		return "failure"
	case state.StatusCancelled:
		return "error"
	case state.StatusPlanned:
		return "queued"
	}
	return "in_progress"
}

// commitState maps a record status to a GitHub commit status state.
func commitState(s state.DeploymentStatus) string {
	switch s {
	case state.StatusSucceeded:
		return "success"
	case state.StatusFailed:
		return "failure"
	case state.StatusCancelled:
		return "error"
	}
	return "pending"
}

// writeAnalysis renders the analysis of an ANALYSIS stage: the verdict,
// the failure reason, and one row per metric or HTTP check with its ticks,
// last values and last verdict.
func writeAnalysis(b *strings.Builder, s state.Stage) {
	a := s.Analysis
	if a == nil || len(a.Analyzers) == 0 {
		return
	}
	verdict := "⏳ running"
	switch a.Verdict {
	case state.VerdictPass:
		verdict = "✅ passed"
	case state.VerdictFail:
		verdict = "❌ failed"
	}
	fmt.Fprintf(b, "**Analysis** %s: %s", code(s.ID), verdict)
	if a.Duration > 0 {
		fmt.Fprintf(b, " (%s of %s)", a.Elapsed.Std().Round(time.Second), a.Duration.Std())
	}
	b.WriteString("\n\n") // the failure reason is the stage's, in the table above
	b.WriteString("| Check | Strategy | Ticks | Last values | Last verdict |\n|---|---|---|---|---|\n")
	for _, z := range a.Analyzers {
		check := code(z.Name)
		if z.Label != "" {
			check += " " + escapeCell(z.Label)
		}
		if z.Query != "" {
			// HTML is inert in a code span: only the table's pipes are escaped.
			check += " " + strings.ReplaceAll(code(clip(z.Query, 80)), "|", `\|`)
		}
		strategy := z.Strategy
		if z.Kind == "HTTP" {
			strategy = "HTTP"
		}
		if z.Provider != "" {
			strategy += " (" + escapeCell(z.Provider) + ")"
		}
		if z.Expected != "" {
			strategy += ": " + escapeCell(z.Expected)
		}
		values, last := "", "▫️ no check yet"
		if t := a.LastTick(z.Name); t != nil {
			values = escapeCell(tickValues(t, z))
			last = verdictIcon(t.Verdict) + " " + t.Verdict
			if t.Reason != "" {
				last += ": " + escapeCell(clip(t.Reason, 200))
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", check, strategy, tickCounts(z), values, last)
	}
	b.WriteString("\n")
}

// tickCounts is "3 ✅ · 2 ❌ (failureLimit 1)".
func tickCounts(z state.AnalysisAnalyzer) string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(z.Passed, "✅")
	add(z.Failed, "❌")
	add(z.NoData, "no data")
	add(z.Errors, "error")
	add(z.Skipped, "skipped")
	if len(parts) == 0 {
		return "none"
	}
	out := strings.Join(parts, " · ")
	if z.Failures > 0 {
		out += fmt.Sprintf(" (%d of failureLimit %d)", z.Failures, z.FailureLimit)
	}
	return out
}

// tickValues summarises the values of a tick: "median 0.31 (n=12, max 0.4)
// vs baseline median 0.01 (n=12)", or the status code of an HTTP check.
func tickValues(t *state.AnalysisTick, z state.AnalysisAnalyzer) string {
	if t.Code != 0 {
		return fmt.Sprintf("status %d", t.Code)
	}
	if t.Values == nil {
		return ""
	}
	out := summary(t.Values, z.Strategy == "THRESHOLD")
	if t.Control != nil {
		ctrl := "control"
		switch z.Strategy {
		case "CANARY_BASELINE":
			ctrl = "baseline"
		case "CANARY_PRIMARY":
			ctrl = "primary"
		case "PREVIOUS":
			ctrl = "previous"
		}
		out += " vs " + ctrl + " " + summary(t.Control, false)
	}
	if t.PValue != 0 {
		out += " (p=" + num(float64(t.PValue)) + ")"
	}
	return out
}

// summary is "median 0.31 (n=12, max 0.4)"; a threshold shows min and max.
func summary(v *state.AnalysisValues, bounds bool) string {
	if v.N == 1 {
		return num(float64(v.Last))
	}
	if bounds {
		return fmt.Sprintf("%s to %s (n=%d, last %s)", num(float64(v.Min)), num(float64(v.Max)), v.N, num(float64(v.Last)))
	}
	return fmt.Sprintf("median %s (n=%d, max %s)", num(float64(v.Median)), v.N, num(float64(v.Max)))
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) }

func verdictIcon(v string) string {
	switch v {
	case state.VerdictPass:
		return "✅"
	case state.VerdictFail, state.VerdictError:
		return "❌"
	case state.VerdictNoData:
		return "⚠️"
	}
	return "⏭️"
}
