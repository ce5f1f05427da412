package plan

import (
	"fmt"
	"io"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// TextOptions tunes the human rendering of a plan.
type TextOptions struct {
	// Color adds ANSI colours (the caller decides: terminal, NO_COLOR).
	Color bool
	// NoDiff leaves out the per-object diffs, keeping one line per change.
	NoDiff bool
	// MaxDiffLines cuts each object's diff after this many lines; 0 shows
	// everything.
	MaxDiffLines int
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiCyan  = "\x1b[36m"
	ansiDim   = "\x1b[2m"
)

// WriteText renders the plan for people: what is deployed and why, the
// stages, then one unified diff per changed object and the summary.
func (p *Plan) WriteText(w io.Writer, opt TextOptions) error {
	t := &textWriter{opt: opt}
	t.plan(p)
	_, err := io.WriteString(w, t.b.String())
	return err
}

type textWriter struct {
	b   strings.Builder
	opt TextOptions
}

func (t *textWriter) style(code, s string) string {
	if !t.opt.Color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (t *textWriter) line(format string, args ...any) {
	fmt.Fprintf(&t.b, format, args...)
	t.b.WriteByte('\n')
}

func (t *textWriter) plan(p *Plan) {
	where := p.App.Kind
	if p.App.Dir != "" {
		where += ", " + p.App.Dir
	}
	t.line("%s %s (%s)", t.style(ansiBold, "Plan for"), t.style(ansiBold, p.App.Name), where)
	t.line("  head:     %s", commitText(p.Head))
	if p.Running != nil {
		t.line("  running:  %s", commitText(*p.Running))
	} else {
		t.line("  running:  none (no successful deployment recorded)")
	}
	switch {
	case p.Compared != "":
		t.line("  compared: %s", p.Compared)
	case p.Mode == ModeLive:
		t.line("  compared: the live cluster with a server-side dry run of the head")
	case p.Base != nil && p.Running != nil && p.Base.Hash == p.Running.Hash:
		t.line("  compared: the last successful deployment (%s) with the head", p.Base.Short())
	case p.Base != nil:
		t.line("  compared: base %s with the head", p.Base.Short())
	default:
		t.line("  compared: nothing (every object is new)")
	}
	if p.Version != "" {
		t.line("  version:  %s", p.Version)
	}
	t.line("")
	t.line("%s %s", t.style(ansiBold, "Strategy:"), t.style(ansiBold, string(p.Strategy)))
	t.line("  %s", p.Reason)
	t.line("")
	t.stages(p)
	t.line("")
	t.changes(p)
}

func commitText(c Commit) string {
	if c.Subject == "" {
		return c.Short()
	}
	return c.Short() + " " + c.Subject
}

func (t *textWriter) stages(p *Plan) {
	head := "Stages"
	switch {
	case p.MinDuration > 0 && p.WaitsForApproval:
		head += fmt.Sprintf(" (at least %s, and an approval)", human(p.MinDuration))
	case p.MinDuration > 0:
		head += fmt.Sprintf(" (at least %s)", human(p.MinDuration))
	case p.WaitsForApproval:
		head += " (waits for an approval)"
	}
	t.line("%s:", t.style(ansiBold, head))
	var rollback []string
	n := 0
	for _, s := range p.Stages {
		if s.Rollback {
			rollback = append(rollback, string(s.Name))
			continue
		}
		n++
		desc := stageDetail(s)
		t.line("  %d. %-22s %s", n, string(s.Name), desc)
		if s.Analysis != nil {
			for _, c := range s.Analysis.Checks {
				t.line("       - %s", c.String())
			}
		}
	}
	if len(rollback) > 0 {
		t.line("  on failure: %s", strings.Join(rollback, ", "))
	}
}

// stageDetail is the text after a stage's name: id, description, what it
// waits for, and whether it is skipped.
func stageDetail(s Stage) string {
	parts := []string{s.ID}
	if s.Desc != "" {
		parts = append(parts, s.Desc)
	}
	var extra []string
	if s.Wait > 0 {
		extra = append(extra, "wait "+human(s.Wait))
	}
	if a := s.Approval; a != nil {
		who := "anyone"
		if len(a.Approvers) > 0 {
			who = strings.Join(a.Approvers, ", ")
		}
		extra = append(extra, fmt.Sprintf("%d approval(s) from %s", a.MinApprovers, who))
	}
	if a := s.Analysis; a != nil {
		extra = append(extra, fmt.Sprintf("analysis for %s, %d check(s)", human(a.Duration), len(a.Checks)))
	}
	if s.Summary != "" {
		extra = append(extra, s.Summary)
	}
	if s.Timeout > 0 {
		extra = append(extra, "timeout "+human(s.Timeout))
	}
	text := strings.Join(parts, "  ")
	if len(extra) > 0 {
		text += "  (" + strings.Join(extra, "; ") + ")"
	}
	if s.Skip != "" {
		text += "  skipped: " + s.Skip
	}
	return text
}

// actionMark is the sign shown before a change.
func actionMark(a Action) string {
	switch a {
	case ActionAdd:
		return "+"
	case ActionDelete:
		return "-"
	}
	return "~"
}

func (t *textWriter) changes(p *Plan) {
	counts := p.Counts
	if counts == "" {
		counts = p.Summary.String()
	}
	t.line("%s %s", t.style(ansiBold, "Changes:"), counts)
	if d := p.Destroys; len(d) > 0 {
		t.line("  %s", t.style(ansiRed, fmt.Sprintf("DESTROYS %d resource(s): %s", len(d), strings.Join(d, ", "))))
	}
	for _, c := range p.Changes {
		mark := actionMark(c.Action)
		head := fmt.Sprintf("%s %s (%s)", mark, c.Key, c.Action)
		switch c.Action {
		case ActionAdd:
			head = t.style(ansiGreen, head)
		case ActionDelete:
			head = t.style(ansiRed, head)
		default:
			head = t.style(ansiBold, head)
		}
		t.line("")
		if c.Source != "" {
			head += "  " + t.style(ansiDim, c.Source)
		}
		t.line("%s", head)
		if c.Note != "" {
			t.line("  %s", c.Note)
		}
		if !t.opt.NoDiff {
			t.diff(c)
		}
	}
}

func (t *textWriter) diff(c Change) {
	lines := splitLines(c.Diff)
	cut := 0
	if m := t.opt.MaxDiffLines; m > 0 && len(lines) > m {
		cut = len(lines) - m
		lines = lines[:m]
	}
	for _, l := range lines {
		l = strings.TrimSuffix(l, "\n")
		if c.Language == LanguageDiff {
			switch {
			case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
				l = t.style(ansiBold, l)
			case strings.HasPrefix(l, "@@"):
				l = t.style(ansiCyan, l)
			case strings.HasPrefix(l, "+"):
				l = t.style(ansiGreen, l)
			case strings.HasPrefix(l, "-"):
				l = t.style(ansiRed, l)
			}
		}
		t.line("    %s", l)
	}
	if cut > 0 {
		t.line("    ... %d more line(s)", cut)
	}
}

// human renders a duration without zero units: 10m rather than 10m0s.
func human(d config.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// splitLines splits text into lines that each end in "\n".
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}
