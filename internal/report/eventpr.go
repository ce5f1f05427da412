package report

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/gitops-pipe/pipe/internal/redact"
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
// What the event carries (its name, labels, value, contexts, the source
// commit's title and URL, who registered it) comes from another
// repository's CI: it is rendered as code or escaped text on one line,
// and a URL becomes a link only when it is a plain http(s) URL.
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
		fmt.Fprintf(&b, " by %s", escapeText(redact.URLsIn(p.By)))
	}
	b.WriteString(".\n")
	if p.SourceCommit != "" || p.SourceURL != "" {
		fmt.Fprintf(&b, "\nFrom commit %s", commitRef(p.SourceCommit, p.SourceURL))
		if p.SourceTitle != "" {
			fmt.Fprintf(&b, " %s", escapeText(firstLine(p.SourceTitle)))
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
			was, now = "", "not replaced: "+escapeText(c.Error)
		case len(c.Old) > 0:
			olds := make([]string, len(c.Old))
			for i, o := range c.Old {
				olds[i] = code(o)
			}
			was = strings.Join(olds, ", ")
		}
		fmt.Fprintf(&b, "| %s | %s %s | %s | %s |\n", escapeCell(code(file)), escapeText(c.Field), escapeCell(code(c.Expr)), escapeCell(was), escapeCell(now))
	}
	if len(p.Contexts) > 0 {
		b.WriteString("\nContexts: " + escapeText(redact.URLsIn(strings.Join(sortedLabels(p.Contexts), ", "))) + "\n")
	}
	b.WriteString("\nA later event of the same name and labels updates this request. Merge it to deploy the value.")
	if p.RunURL != "" {
		if u, ok := linkURL(p.RunURL); ok {
			fmt.Fprintf(&b, " ([run](%s))", u)
		} else {
			fmt.Fprintf(&b, " (run %s)", code(u))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// commitRef renders the source commit: its abbreviated hash, linked to
// rawURL when that is a plain http(s) URL, and followed by rawURL as code
// when it is not.
func commitRef(hash, rawURL string) string {
	ref := code(abbrevHash(hash))
	if rawURL == "" {
		return ref
	}
	u, ok := linkURL(rawURL)
	switch {
	case ok && hash == "":
		return fmt.Sprintf("[%s](%s)", code(u), u)
	case ok:
		return fmt.Sprintf("[%s](%s)", ref, u)
	case hash == "":
		return code(u)
	}
	return fmt.Sprintf("%s (%s)", ref, code(u))
}

// linkURL is rawURL without its credentials (redact.URL), and whether it
// can be a markdown link's destination: an absolute http or https URL
// with a host, holding no whitespace, no control character and none of
// ( ) < > \ that could end the destination or the link early.
func linkURL(rawURL string) (string, bool) {
	s := redact.URL(rawURL)
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || isControl(r) || strings.ContainsRune("()<>\\", r) }) >= 0 {
		return s, false
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return s, false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return s, true
	}
	return s, false
}

func abbrevHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
