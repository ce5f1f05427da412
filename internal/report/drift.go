package report

import (
	"fmt"
	"strings"

	"github.com/gitops-pipe/pipe/internal/drift"
)

// DriftSummaryLimit bounds the drift markdown (GitHub's job summary takes
// at most 1 MiB per step; leave room for other steps).
const DriftSummaryLimit = 512 << 10

// DriftMarkdown renders a drift report for a CI job summary: a table of
// the applications that drifted or failed, then the drifted fields of each
// (Secret and ConfigMap values are already masked in the report). The text
// is cut at limit bytes (0 means DriftSummaryLimit) with a note.
func DriftMarkdown(r *drift.Report, limit int) string {
	if limit <= 0 {
		limit = DriftSummaryLimit
	}
	var b strings.Builder
	var inSync, out, failed int
	for _, a := range r.Apps {
		switch a.Status {
		case drift.InSync:
			inSync++
		case drift.OutOfSync:
			out++
		case drift.Failed:
			failed++
		}
	}
	title := "## Drift"
	if r.Shard != "" {
		title += " (shard " + r.Shard + ")"
	}
	b.WriteString(title + "\n\n")
	switch {
	case out == 0 && failed == 0:
		fmt.Fprintf(&b, ":white_check_mark: All %d applications are in sync with Git", inSync)
		if r.Commit != "" {
			fmt.Fprintf(&b, " (%s)", driftCode(driftShort(r.Commit)))
		}
		b.WriteString(".\n")
		return b.String()
	default:
		fmt.Fprintf(&b, "%d in sync, **%d out of sync**, %d failed", inSync, out, failed)
		if r.Commit != "" {
			fmt.Fprintf(&b, " against %s", driftCode(driftShort(r.Commit)))
		}
		b.WriteString(".\n\n")
	}
	b.WriteString("| Application | Status | Drift |\n|---|---|---|\n")
	listed := 0
	for _, a := range r.Apps {
		if a.Status != drift.OutOfSync && a.Status != drift.Failed {
			continue
		}
		if b.Len() > limit/2 {
			fmt.Fprintf(&b, "| … | %d more | |\n", out+failed-listed)
			break
		}
		listed++
		switch a.Status {
		case drift.OutOfSync:
			fmt.Fprintf(&b, "| %s | :warning: out of sync | %s |\n", driftCell(a.App), driftCell(a.Summary()))
		case drift.Failed:
			fmt.Fprintf(&b, "| %s | :x: check failed | %s |\n", driftCell(a.App), driftCell(driftClip(a.Error, 200)))
		}
	}
	b.WriteString("\n")
	for _, a := range r.Apps {
		if a.Status != drift.OutOfSync {
			continue
		}
		var d strings.Builder
		fmt.Fprintf(&d, "<details><summary><b>%s</b>: %s</summary>\n\n", driftHTML(a.App), driftHTML(a.Summary()))
		var lines []string
		for _, o := range a.Drift {
			switch o.Action {
			case drift.ActionAdded:
				lines = append(lines, "+ "+o.Object+": in Git, not live")
			case drift.ActionDeleted:
				lines = append(lines, "- "+o.Object+": live, not in Git")
			default:
				lines = append(lines, "~ "+o.Object)
				for _, f := range o.Fields {
					lines = append(lines, "    "+drift.FieldLine(f))
				}
			}
		}
		body := strings.Join(lines, "\n")
		fence := driftFence(body)
		fmt.Fprintf(&d, "%sdiff\n%s\n%s\n\nFix it with `pipe sync %s` (or `pipe drift %s --fix`).\n\n</details>\n\n", fence, body, fence, a.App, a.App)
		if b.Len()+d.Len() > limit-200 {
			fmt.Fprintf(&b, "_The rest is cut to fit the job summary: run `pipe drift` for the full report._\n")
			break
		}
		b.WriteString(d.String())
	}
	return b.String()
}

func driftShort(h string) string {
	if len(h) > 8 {
		return h[:8]
	}
	return h
}

func driftCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\r", "", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func driftHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func driftCode(s string) string { return "`" + strings.ReplaceAll(s, "`", "") + "`" }

// driftFence is a code fence longer than any backtick run in body.
func driftFence(body string) string {
	longest, run := 0, 0
	for _, r := range body {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

func driftClip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
