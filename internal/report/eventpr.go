package report

import (
	"fmt"
	"strings"
	"time"
)

// EventProposal is what a pull/merge request opened by `pipe event watch`
// proposes: one event's value written to the fields of its watchers.
type EventProposal struct {
	Event    string
	Labels   map[string]string
	Value    string
	Contexts map[string]string
	// Registered is when the event was registered, By by whom (a CI run URL).
	Registered time.Time
	By         string
	// SourceCommit is the producing repository's commit, if given.
	SourceCommit, SourceTitle, SourceURL string
	Changes                              []EventChange
	// RunURL is the CI run of the watch.
	RunURL string
}

// EventChange is one replaced field.
type EventChange struct {
	Watcher string // where it is configured, file:line
	File    string
	Line    int
	Field   string // yamlField, jsonField, hclField, regex
	Expr    string
	Old     []string
	Error   string // the replacement could not be applied
}

// EventPullRequestBody renders the description of the pull/merge request.
func EventPullRequestBody(p EventProposal) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Event %s", code(p.Event))
	if len(p.Labels) > 0 {
		fmt.Fprintf(&b, " (labels %s)", code(strings.Join(sortedLabels(p.Labels), ",")))
	}
	fmt.Fprintf(&b, " set the value %s", code(p.Value))
	if !p.Registered.IsZero() {
		fmt.Fprintf(&b, ", registered %s", p.Registered.UTC().Format(time.RFC3339))
	}
	if p.By != "" {
		fmt.Fprintf(&b, " by %s", escapeCell(p.By))
	}
	b.WriteString(".\n")
	if p.SourceCommit != "" || p.SourceURL != "" {
		ref := code(abbrevHash(p.SourceCommit))
		if p.SourceURL != "" {
			ref = fmt.Sprintf("[%s](%s)", ref, p.SourceURL)
		}
		fmt.Fprintf(&b, "\nFrom commit %s", ref)
		if p.SourceTitle != "" {
			fmt.Fprintf(&b, " %s", escapeCell(firstLine(p.SourceTitle)))
		}
		b.WriteString(".\n")
	}
	b.WriteString("\n| File | Field | Was | Now |\n|---|---|---|---|\n")
	for _, c := range p.Changes {
		file := c.File
		if c.Line > 0 {
			file = fmt.Sprintf("%s:%d", c.File, c.Line)
		}
		was, now := "", code(p.Value)
		switch {
		case c.Error != "":
			was, now = "", "not replaced: "+c.Error
		case len(c.Old) > 0:
			olds := make([]string, len(c.Old))
			for i, o := range c.Old {
				olds[i] = code(o)
			}
			was = strings.Join(olds, ", ")
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n", escapeCell(code(file)), c.Field, escapeCell(code(c.Expr)), escapeCell(was), escapeCell(now))
	}
	if len(p.Contexts) > 0 {
		b.WriteString("\nContexts: " + escapeCell(strings.Join(sortedLabels(p.Contexts), ", ")) + "\n")
	}
	b.WriteString("\nA later event of the same name and labels updates this request. Merge it to deploy the value.")
	if p.RunURL != "" {
		fmt.Fprintf(&b, " ([run](%s))", p.RunURL)
	}
	b.WriteString("\n")
	return b.String()
}

func abbrevHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
