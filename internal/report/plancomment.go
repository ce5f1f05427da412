package report

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
)

// Body limits of the places plan markdown goes to.
const (
	// GitHubCommentLimit is GitHub's limit on an issue comment body
	// (65,536 characters).
	GitHubCommentLimit = 65536
	// GitLabNoteLimit is GitLab's limit on a note body (1,000,000).
	GitLabNoteLimit = 1000000
	// StepSummaryLimit is GitHub's limit on a step's job summary (1 MiB).
	StepSummaryLimit = 1 << 20
	// DefaultMaxParts is how many comments one plan may take.
	DefaultMaxParts = 5
)

// AppError is an application that could not be planned (or synced).
type AppError struct {
	App    string `json:"app"`
	Error  string `json:"error"`
	Hint   string `json:"hint,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// PlanReport is what a plan comment and a plan job summary show.
type PlanReport struct {
	// Title tells apart the comments of several pipe setups on one
	// repository (`pipe plan --title`); "" is the default one.
	Title  string
	CI     ci.Context
	Plans  []*plan.Plan
	Errors []AppError
	// Notices are shown above the plans: what a reviewer must know about
	// all of them (the change's platform settings were set aside).
	Notices []string
}

// Changed is the plans that change something.
func (r *PlanReport) Changed() []*plan.Plan {
	var out []*plan.Plan
	for _, p := range r.Plans {
		if p.HasChanges() {
			out = append(out, p)
		}
	}
	return out
}

// HasChanges reports whether any plan changes something.
func (r *PlanReport) HasChanges() bool { return len(r.Changed()) > 0 }

// Quiet reports whether there is nothing to say: no change and no error.
func (r *PlanReport) Quiet() bool {
	return !r.HasChanges() && len(r.Errors) == 0 && len(r.Notices) == 0
}

// PlanMarker is the hidden marker of part i (1-based) of the plan comment
// of title; the sticky comment is found by it. Part 1 has no part number,
// so that it stays stable whatever the number of parts.
func PlanMarker(title string, part int) string {
	m := "<!-- pipe:plan title=" + markerTitle(title)
	if part > 1 {
		m += fmt.Sprintf(" part=%d", part)
	}
	return m + " -->"
}

// markerTitle makes a title safe inside an HTML comment and unambiguous.
func markerTitle(title string) string {
	t := strings.TrimSpace(title)
	if t == "" {
		return `"default"`
	}
	t = strings.NewReplacer("--", "-\u2010", ">", "&gt;", `"`, "&quot;", "\n", " ").Replace(t)
	return `"` + t + `"`
}

// PlanComment renders the plan comment, cut into bodies of at most limit
// bytes (see SplitOptions), each starting with its marker.
func PlanComment(r *PlanReport, limit, maxParts int) []string {
	return split(planBlocks(r), SplitOptions{
		Limit: limit, MaxParts: maxParts,
		Marker: func(i, _ int) string { return PlanMarker(r.Title, i) },
		More:   summaryPointer(r.CI),
	})
}

// PlanSummary renders the plan for the CI job summary: the same content as
// the comment, in one document of at most limit bytes.
func PlanSummary(r *PlanReport, limit int) string {
	return split(planBlocks(r), SplitOptions{Limit: limit, MaxParts: 1,
		More: "Run `pipe plan` locally for the full plan."})[0]
}

// summaryPointer says where the full content is when a comment is cut.
func summaryPointer(c ci.Context) string {
	switch {
	case c.Provider == ci.GitHub && c.RunURL != "":
		return "The full plan is in the [job summary](" + c.RunURL + ")."
	case c.RunURL != "":
		return "The full plan is in the [job log](" + c.RunURL + ")."
	}
	return "Run `pipe plan` for the full plan."
}

func heading(r *PlanReport) string {
	h := "pipe plan"
	if t := strings.TrimSpace(r.Title); t != "" {
		h += ": " + escapeCell(t)
	}
	return "### " + h
}

// commitLink renders a commit as a link to it when the CI context allows.
func commitLink(c ci.Context, hash string) string {
	short := hash
	if len(short) > 7 {
		short = short[:7]
	}
	if hash == "" {
		return ""
	}
	if u := c.CommitURL(hash); u != "" {
		return "[`" + short + "`](" + u + ")"
	}
	return "`" + short + "`"
}

func headCommit(r *PlanReport) string {
	for _, p := range r.Plans {
		if p.Head.Hash != "" {
			return p.Head.Hash
		}
	}
	return r.CI.SHA
}

func planBlocks(r *PlanReport) []block {
	var bs []block
	var head strings.Builder
	head.WriteString(heading(r) + "\n\n")
	var facts []string
	changed := r.Changed()
	noChange := len(changed) == 0 && len(r.Errors) == 0
	var unchanged []*plan.Plan
	for _, p := range r.Plans {
		if !p.HasChanges() {
			unchanged = append(unchanged, p)
		}
	}
	switch {
	case noChange && len(r.Plans) == 0:
		facts = append(facts, "**No changes.** No application is affected.")
	case noChange:
		facts = append(facts, fmt.Sprintf("**No changes.** %s planned, nothing to change.", count(len(r.Plans), "application")))
	default:
		if len(changed) > 0 {
			facts = append(facts, fmt.Sprintf("**%s will change**", count(len(changed), "application")))
		}
		if len(unchanged) > 0 {
			facts = append(facts, fmt.Sprintf("%s without resource changes", count(len(unchanged), "application")))
		}
		if len(r.Errors) > 0 {
			facts = append(facts, fmt.Sprintf("**%s could not be planned**", count(len(r.Errors), "application")))
		}
	}
	line := strings.Join(facts, ", ")
	if c := commitLink(r.CI, headCommit(r)); c != "" {
		line += " · commit " + c
	}
	if r.CI.RunURL != "" {
		line += " · [CI run](" + r.CI.RunURL + ")"
	}
	head.WriteString(line + "\n")
	for _, n := range r.Notices {
		head.WriteString("\n> [!WARNING]\n> " + escapeCell(n) + "\n")
	}
	if noChange {
		return []block{textBlock(head.String())}
	}
	if len(changed)+len(r.Errors) > 1 || len(unchanged) > 0 && len(changed) > 0 {
		head.WriteString("\n| Application | Kind | Strategy | Changes |\n|---|---|---|---|\n")
		for _, p := range changed {
			fmt.Fprintf(&head, "| %s | %s | %s | %s |\n", escapeCell(p.App.Name), escapeCell(p.App.Kind), strategyText(p.Strategy), p.Summary)
		}
		for _, p := range unchanged {
			fmt.Fprintf(&head, "| %s | %s | %s | no resource change |\n", escapeCell(p.App.Name), escapeCell(p.App.Kind), strategyText(p.Strategy))
		}
		for _, e := range r.Errors {
			fmt.Fprintf(&head, "| %s | | ❌ error | %s |\n", escapeCell(e.App), escapeCell(firstLine(e.Error)))
		}
	}
	bs = append(bs, textBlock(head.String()))
	for _, p := range changed {
		bs = append(bs, appBlocks(p)...)
	}
	if len(unchanged) > 0 {
		var b strings.Builder
		b.WriteString("#### Triggered with no resource change\n\n")
		for _, p := range unchanged {
			fmt.Fprintf(&b, "- **%s** (%s, %s): %s\n", escapeCell(p.App.Name), escapeCell(p.App.Kind), strategyText(p.Strategy), escapeCell(p.Reason))
		}
		bs = append(bs, textBlock(b.String()))
	}
	if len(r.Errors) > 0 {
		bs = append(bs, textBlock("#### ❌ Errors\n"))
		for _, e := range r.Errors {
			pre := fmt.Sprintf("**%s**: %s\n", escapeCell(e.App), escapeCell(e.Error))
			if e.Hint != "" {
				pre += "\nHint: " + escapeCell(e.Hint) + "\n"
			}
			if e.Detail != "" {
				bs = append(bs, codeBlock(pre+"\n", "text", e.Detail, ""))
			} else {
				bs = append(bs, textBlock(pre))
			}
		}
	}
	return bs
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func strategyText(s plan.Strategy) string {
	switch s {
	case plan.StrategyPipeline:
		return "🚦 pipeline"
	case plan.StrategyQuickSync:
		return "⚡ quick sync"
	}
	return escapeCell(string(s))
}

// appBlocks renders one changed application: facts, reason, stages, the
// change summary, and one collapsed diff per object.
func appBlocks(p *plan.Plan) []block {
	var b strings.Builder
	fmt.Fprintf(&b, "#### %s · %s\n\n", escapeCell(p.App.Name), strategyText(p.Strategy))
	facts := []string{code(p.App.Kind)}
	if p.App.Dir != "" {
		facts = append(facts, code(p.App.Dir))
	}
	for _, l := range sortedLabels(p.App.Labels) {
		facts = append(facts, code(l))
	}
	if p.Version != "" {
		facts = append(facts, "version "+code(p.Version))
	}
	if p.Running != nil {
		facts = append(facts, "running "+code(p.Running.Short()))
	} else {
		facts = append(facts, "first deployment")
	}
	b.WriteString(strings.Join(facts, " · ") + "\n\n")
	fmt.Fprintf(&b, "> %s\n\n", escapeCell(p.Reason))
	b.WriteString(stagesText(p))
	if p.Counts != "" {
		fmt.Fprintf(&b, "\n**Changes:** %s\n", escapeCell(p.Counts))
	} else {
		fmt.Fprintf(&b, "\n**Changes:** %s\n", changeCounts(p.Summary))
	}
	if p.Compared != "" {
		fmt.Fprintf(&b, "\n_Compared: %s._\n", escapeCell(p.Compared))
	}
	if d := p.Destroys; len(d) > 0 {
		names := make([]string, len(d))
		for i, a := range d {
			names[i] = code(a)
		}
		fmt.Fprintf(&b, "\n> [!CAUTION]\n> **Destroys %d resource(s):** %s\n", len(d), strings.Join(names, ", "))
	}
	out := []block{textBlock(b.String())}
	for _, c := range p.Changes {
		out = append(out, changeBlock(c))
	}
	return out
}

func changeCounts(s plan.Summary) string {
	return fmt.Sprintf("🟢 %d to add, 🟡 %d to change, 🔴 %d to delete", s.Added, s.Changed, s.Deleted)
}

func stagesText(p *plan.Plan) string {
	var b strings.Builder
	head := "**Stages**"
	switch {
	case p.MinDuration > 0 && p.WaitsForApproval:
		head += fmt.Sprintf(" (at least %s, and an approval)", human(p.MinDuration))
	case p.MinDuration > 0:
		head += fmt.Sprintf(" (at least %s)", human(p.MinDuration))
	case p.WaitsForApproval:
		head += " (waits for an approval)"
	}
	b.WriteString(head + ":\n\n")
	var rollback []string
	n := 0
	for _, s := range p.Stages {
		if s.Rollback {
			rollback = append(rollback, code(string(s.Name)))
			continue
		}
		n++
		fmt.Fprintf(&b, "%d. %s%s\n", n, code(string(s.Name)), stageText(s))
		if s.Analysis != nil {
			for _, c := range s.Analysis.Checks {
				fmt.Fprintf(&b, "    - %s\n", escapeCell(c.String()))
			}
		}
	}
	if len(rollback) > 0 {
		fmt.Fprintf(&b, "\nOn failure: %s\n", strings.Join(rollback, ", "))
	}
	return b.String()
}

func stageText(s plan.Stage) string {
	var extra []string
	if s.Desc != "" && !s.Predefined {
		extra = append(extra, s.Desc)
	}
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
		extra = append(extra, fmt.Sprintf("analysis for %s, gated by %s", human(a.Duration), count(len(a.Checks), "check")))
	}
	if s.Summary != "" {
		extra = append(extra, s.Summary)
	}
	if s.Timeout > 0 {
		extra = append(extra, "timeout "+human(s.Timeout))
	}
	text := ""
	if len(extra) > 0 {
		text = " " + escapeCell(strings.Join(extra, "; "))
	}
	if s.Skip != "" {
		text += " — _skipped: " + escapeCell(s.Skip) + "_"
	}
	return text
}

func actionSign(a plan.Action) string {
	switch a {
	case plan.ActionAdd:
		return "🟢 +"
	case plan.ActionDelete:
		return "🔴 -"
	}
	return "🟡 ~"
}

// changeBlock is one object's change: a <details> holding its diff.
func changeBlock(c plan.Change) block {
	lang := c.Language
	text := c.Diff
	if lang == "" || !langRE.MatchString(lang) {
		// A saved plan may come from an untrusted job: its language must
		// not be able to break the fence.
		lang = "text"
	}
	summary := fmt.Sprintf("%s <code>%s</code> (%s)", actionSign(c.Action), escapeHTML(c.Key), c.Action)
	if c.Note != "" {
		summary += " — " + escapeHTML(c.Note)
	}
	pre := "<details><summary>" + summary + "</summary>\n\n"
	if c.Source != "" {
		pre += "From " + code(c.Source) + "\n\n"
	}
	return codeBlock(pre, lang, text, "\n</details>\n")
}

var (
	langRE = regexp.MustCompile(`^[a-z0-9+-]{1,20}$`)
)

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
