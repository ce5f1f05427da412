package cli

import (
	"io"
	"os"
	"strconv"
	"strings"
)

// style colours terminal output; with colour off every method is identity.
// It satisfies report.Styler.
type style struct{ color bool }

func (s style) wrap(code, t string) string {
	if !s.color {
		return t
	}
	return "\x1b[" + code + "m" + t + "\x1b[0m"
}

func (s style) Red(t string) string    { return s.wrap("31;1", t) }
func (s style) Green(t string) string  { return s.wrap("32", t) }
func (s style) Yellow(t string) string { return s.wrap("33", t) }
func (s style) Cyan(t string) string   { return s.wrap("36", t) }
func (s style) Bold(t string) string   { return s.wrap("1", t) }
func (s style) Dim(t string) string    { return s.wrap("2", t) }

// Text renders a message written for Markdown (a `pipe plan --help` code
// span names a command, a field, a value) for a terminal: the backticks go,
// and with colour on the span is bold. Markdown outputs (PR comments, job
// summaries) take the message as it is.
//
// A span is a run of backticks closed by a run of the same length, as in
// CommonMark; an unclosed run stays as it is, and so does a Go-quoted
// string ("a`b", as %q prints a user's value), so values are never altered.
func (s style) Text(md string) string {
	if !strings.ContainsRune(md, '`') {
		return md
	}
	var b strings.Builder
	for i := 0; i < len(md); {
		switch md[i] {
		case '"':
			end := quotedEnd(md, i)
			b.WriteString(md[i:end])
			i = end
		case '`':
			n := runLen(md, i)
			body, next, ok := codeSpan(md, i, n)
			if !ok {
				b.WriteString(md[i : i+n])
				i += n
				continue
			}
			b.WriteString(s.Bold(body))
			i = next
		default:
			b.WriteByte(md[i])
			i++
		}
	}
	return b.String()
}

// runLen is the length of the run of backticks at md[i].
func runLen(md string, i int) int {
	n := 0
	for i+n < len(md) && md[i+n] == '`' {
		n++
	}
	return n
}

// codeSpan finds the span opened by the n backticks at md[i]: its text
// (one space trimmed at each end when both are spaces, as in CommonMark)
// and where the text after it starts; ok is false when no run of exactly
// n backticks closes it.
func codeSpan(md string, i, n int) (body string, next int, ok bool) {
	for j := i + n; j < len(md); {
		if md[j] != '`' {
			j++
			continue
		}
		m := runLen(md, j)
		if m == n {
			body = md[i+n : j]
			if len(body) >= 2 && body[0] == ' ' && body[len(body)-1] == ' ' && strings.Trim(body, " ") != "" {
				body = body[1 : len(body)-1]
			}
			return body, j + m, true
		}
		j += m
	}
	return "", 0, false
}

// quotedEnd is the end of the Go-quoted string that starts at md[i], or
// i+1 when the quote is not closed on its line (a lone quote mark).
func quotedEnd(md string, i int) int {
	for j := i + 1; j < len(md); j++ {
		switch md[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		case '\n':
			return i + 1
		}
	}
	return i + 1
}

// colorPolicy decides whether a stream gets colour codes, from (highest
// first):
//
//  1. --no-color, then NO_COLOR (https://no-color.org) set: off;
//  2. FORCE_COLOR set (0 or false: off) or CLICOLOR_FORCE set and not 0
//     (https://bixense.com/clicolors): on, even when not a terminal;
//  3. CLICOLOR=0 or TERM=dumb: off;
//  4. a GitHub Actions or GitLab CI job, whose logs render ANSI colours:
//     on, except for a stream redirected to a file;
//  5. otherwise: on exactly for a terminal.
type colorPolicy struct {
	noColorFlag bool
	getenv      func(string) string
	// ciLog is set in a GitHub Actions or GitLab CI job.
	ciLog bool
}

// enabled decides for one stream: tty says whether it is a terminal, file
// whether it is redirected to a regular file.
func (p colorPolicy) enabled(tty, file bool) bool {
	if p.noColorFlag || p.getenv("NO_COLOR") != "" {
		return false
	}
	if force, set := forceColor(p.getenv); set {
		return force
	}
	if strings.TrimSpace(p.getenv("CLICOLOR")) == "0" || p.getenv("TERM") == "dumb" {
		return false
	}
	if p.ciLog && !file {
		return true
	}
	return tty
}

// forceColor reads FORCE_COLOR and CLICOLOR_FORCE: set says whether they
// decide, force what. FORCE_COLOR forces colour whatever its value
// (1, 2, 3 and true are the levels tools use) except 0 and false, which
// turn it off as in Node.js; CLICOLOR_FORCE forces it unless 0.
func forceColor(getenv func(string) string) (force, set bool) {
	if v := strings.TrimSpace(getenv("FORCE_COLOR")); v != "" {
		if b, err := strconv.ParseBool(v); err == nil && !b {
			return false, true
		}
		return true, true
	}
	if v := strings.TrimSpace(getenv("CLICOLOR_FORCE")); v != "" && v != "0" {
		return true, true
	}
	return false, false
}

// isRegularFile reports whether w is a regular file (a redirection such as
// `pipe plan > plan.txt`), not a terminal or a pipe.
func isRegularFile(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}
