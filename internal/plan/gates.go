package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/pathpattern"
)

// Approval gates a WAIT_APPROVAL stage.
type Approval struct {
	// Approvers may approve; empty means anyone.
	Approvers []string `json:"approvers,omitempty"`
	// MinApprovers is the number of distinct approvals needed.
	MinApprovers int `json:"minApprovers"`
	// Timeout is how long the stage waits for approvals.
	Timeout config.Duration `json:"timeout,omitempty"`
}

// Analysis gates an ANALYSIS stage: the checks run at their intervals for
// Duration; the stage fails as soon as one fails more than it tolerates.
type Analysis struct {
	Duration config.Duration `json:"duration"`
	Checks   []Check         `json:"checks,omitempty"`
}

// Check is one check of an analysis.
type Check struct {
	// Type is "metrics", "logs" or "http".
	Type string `json:"type"`
	// Template names the AnalysisTemplate entry used instead of the inline
	// fields; the other fields are then empty.
	Template string `json:"template,omitempty"`
	Provider string `json:"provider,omitempty"`
	// Strategy is how a metric is judged (THRESHOLD, PREVIOUS,
	// CANARY_BASELINE, CANARY_PRIMARY).
	Strategy string `json:"strategy,omitempty"`
	// Query is the metric or log query, or the URL of an HTTP check.
	Query string `json:"query,omitempty"`
	// Expected is what passes: a range ("x <= 0.01"), a status code, a body.
	Expected     string          `json:"expected,omitempty"`
	Interval     config.Duration `json:"interval,omitempty"`
	FailureLimit int             `json:"failureLimit,omitempty"`
}

// String describes the check in one line.
func (c Check) String() string {
	if c.Template != "" {
		return c.Type + " template " + c.Template
	}
	parts := []string{c.Type}
	if c.Provider != "" {
		parts = append(parts, c.Provider)
	}
	if c.Strategy != "" {
		parts = append(parts, c.Strategy)
	}
	if c.Query != "" {
		parts = append(parts, fmt.Sprintf("%q", config.OneLine(c.Query)))
	}
	if c.Expected != "" {
		parts = append(parts, "expects "+c.Expected)
	}
	if c.Interval > 0 {
		parts = append(parts, "every "+human(c.Interval))
	}
	if c.FailureLimit > 0 {
		parts = append(parts, fmt.Sprintf("tolerates %d failure(s)", c.FailureLimit))
	}
	return strings.Join(parts, " ")
}

func analysisOf(o *config.AnalysisStageOptions) *Analysis {
	a := &Analysis{Duration: o.Duration}
	for _, m := range o.Metrics {
		if m.Template.Name != "" {
			a.Checks = append(a.Checks, Check{Type: "metrics", Template: m.Template.Name})
			continue
		}
		c := Check{Type: "metrics", Provider: m.Provider, Strategy: m.Strategy, Query: m.Query,
			Interval: m.Interval, FailureLimit: m.FailureLimit}
		if m.Expected != nil {
			c.Expected = m.Expected.String()
		}
		a.Checks = append(a.Checks, c)
	}
	for _, l := range o.Logs {
		if l.Template.Name != "" {
			a.Checks = append(a.Checks, Check{Type: "logs", Template: l.Template.Name})
			continue
		}
		a.Checks = append(a.Checks, Check{Type: "logs", Provider: l.Provider, Query: l.Query,
			Expected: "no entries", Interval: l.Interval, FailureLimit: l.FailureLimit})
	}
	for _, h := range o.HTTPS {
		if h.Template.Name != "" {
			a.Checks = append(a.Checks, Check{Type: "http", Template: h.Template.Name})
			continue
		}
		var exp []string
		if h.ExpectedCode != 0 {
			exp = append(exp, fmt.Sprintf("status %d", h.ExpectedCode))
		}
		if h.ExpectedResponse != "" {
			match := strings.ToLower(h.ExpectedResponseMatch)
			if match == "" {
				match = "exact"
			}
			exp = append(exp, fmt.Sprintf("body %s %q", match, config.OneLine(h.ExpectedResponse)))
		}
		method := h.Method
		if method == "" {
			method = "GET"
		}
		a.Checks = append(a.Checks, Check{Type: "http", Query: method + " " + h.URL, Expected: strings.Join(exp, ", "),
			Interval: h.Interval, FailureLimit: h.FailureLimit})
	}
	return a
}

// skipContext is what the skipOn conditions of stages are evaluated
// against, as PipeCD's executor does when it reaches the stage.
type skipContext struct {
	// message is the head commit's message.
	message string
	// files are the files changed between the running and the head commit;
	// filesKnown is false when the caller did not say.
	files      []string
	filesKnown bool
}

// reason returns why a stage with these options is skipped, or "". As in
// PipeCD, the paths are tried first: the stage is skipped when every
// changed file matches one of them (including when no file changed); then
// the commit message prefixes.
func (sk skipContext) reason(o config.SkipOptions) string {
	if len(o.Paths) > 0 && sk.filesKnown && onlyMatching(o.Paths, sk.files) {
		return "every changed file matches skipOn.paths"
	}
	for _, p := range o.CommitMessagePrefixes {
		if p != "" && strings.HasPrefix(sk.message, p) {
			return fmt.Sprintf("the commit message starts with %q", p)
		}
	}
	return ""
}

func onlyMatching(patterns, files []string) bool {
	var ps []*pathpattern.Pattern
	for _, s := range patterns {
		if p, err := pathpattern.Compile(s); err == nil {
			ps = append(ps, p)
		}
	}
	for _, f := range files {
		if !slices.ContainsFunc(ps, func(p *pathpattern.Pattern) bool { return p.Match(f) }) {
			return false
		}
	}
	return true
}

// timing returns the least time the stages that run take (WAIT and
// ANALYSIS durations) and whether one waits for approval.
func timing(stages []Stage) (total config.Duration, approval bool) {
	for _, s := range stages {
		if s.Rollback || s.Skip != "" {
			continue
		}
		total += s.Wait
		if s.Analysis != nil {
			total += s.Analysis.Duration
		}
		if s.Approval != nil {
			approval = true
		}
	}
	return total, approval
}
