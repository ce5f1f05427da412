package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Styler colours text for a terminal; a zero Styler leaves text plain.
type Styler interface {
	Red(string) string
	Yellow(string) string
	Cyan(string) string
	Dim(string) string
	Bold(string) string
}

// Plain is a Styler that adds no colour.
type Plain struct{}

func (Plain) Red(s string) string    { return s }
func (Plain) Yellow(s string) string { return s }
func (Plain) Cyan(s string) string   { return s }
func (Plain) Dim(s string) string    { return s }
func (Plain) Bold(s string) string   { return s }

// SourceFunc returns the content of a file named in a diagnostic, for the
// source excerpt; it may return nil.
type SourceFunc func(file string) []byte

// WriteDiagnostic renders one diagnostic the way compilers do:
//
//	error: unknown field `durtion` (did you mean `duration`?)
//	  --> apps/web/app.pipecd.yaml:12:9 (spec.pipeline.stages[1].with.durtion)
//	   |
//	12 |           durtion: 10m
//	   |           ^
func WriteDiagnostic(w io.Writer, d config.Diagnostic, src SourceFunc, st Styler) {
	sev := st.Red("error:")
	if d.Severity == config.SeverityWarning {
		sev = st.Yellow("warning:")
	}
	fmt.Fprintf(w, "%s %s\n", sev, st.Bold(d.Message))
	loc := d.Position()
	if d.Path != "" {
		loc += " " + st.Dim("("+d.Path+")")
	}
	fmt.Fprintf(w, "  %s %s\n", st.Cyan("-->"), loc)
	if line := sourceLine(src, d.File, d.Line); line != "" {
		num := strconv.Itoa(d.Line)
		pad := strings.Repeat(" ", len(num))
		fmt.Fprintf(w, "  %s %s\n", pad, st.Cyan("|"))
		fmt.Fprintf(w, "  %s %s %s\n", st.Cyan(num), st.Cyan("|"), line)
		if d.Column > 0 {
			fmt.Fprintf(w, "  %s %s %s%s\n", pad, st.Cyan("|"), caretPad(line, d.Column), st.Red("^"))
		}
	}
	if d.Hint != "" {
		fmt.Fprintf(w, "  %s %s\n", st.Cyan("hint:"), d.Hint)
	}
}

// caretPad returns the whitespace that puts a caret under column col
// (1-based, in runes), keeping tabs as tabs so that alignment holds.
func caretPad(line string, col int) string {
	var b strings.Builder
	i := 1
	for _, r := range line {
		if i >= col {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
		i++
	}
	return b.String()
}

const maxExcerpt = 200

func sourceLine(src SourceFunc, file string, line int) string {
	if src == nil || line <= 0 {
		return ""
	}
	data := src(file)
	if data == nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if n == line {
			l := strings.TrimRight(sc.Text(), "\r")
			if len(l) > maxExcerpt {
				l = l[:maxExcerpt] + "…"
			}
			return l
		}
	}
	return ""
}

// GitHubAnnotations writes GitHub Actions workflow commands that annotate
// the files at their lines. GitHub shows at most 10 annotations of each
// severity per step; past that, the last one shown says how many more there
// are, so nothing is silently lost.
func GitHubAnnotations(w io.Writer, ds config.Diagnostics) {
	const limit = 10
	for _, sev := range []config.Severity{config.SeverityError, config.SeverityWarning} {
		var list config.Diagnostics
		for _, d := range ds {
			if d.Severity == sev {
				list = append(list, d)
			}
		}
		cmd := "error"
		if sev == config.SeverityWarning {
			cmd = "warning"
		}
		for i, d := range list {
			if len(list) > limit && i == limit-1 {
				fmt.Fprintf(w, "::%s title=pipe validate::%d more %ss not annotated; see the job log or run `pipe validate` locally\n",
					cmd, len(list)-i, cmd)
				break
			}
			props := "file=" + escapeProperty(d.File)
			if d.Line > 0 {
				props += ",line=" + strconv.Itoa(d.Line)
			}
			if d.Column > 0 {
				props += ",col=" + strconv.Itoa(d.Column)
			}
			title := "pipe"
			if d.Path != "" {
				title = d.Path
			}
			props += ",title=" + escapeProperty(title)
			msg := d.Message
			if d.Hint != "" {
				msg += "\n" + d.Hint
			}
			fmt.Fprintf(w, "::%s %s::%s\n", cmd, props, escapeData(msg))
		}
	}
}

// escapeData and escapeProperty follow the runner's workflow-command escaping.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
