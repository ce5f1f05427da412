package report

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// A markdown document for a pull-request comment or a job summary is a
// list of blocks. Each block is balanced on its own: it opens and closes
// its <details> and its code fence, so that a document may be cut between
// any two blocks (into continuation comments) without breaking either.
// A block that is too large on its own is cut inside its code, at a line
// boundary, and closed properly with a visible note.

// block is one self-contained piece of markdown: Pre, then (when Lang or
// Code is set) a fenced code block, then Post.
type block struct {
	Pre  string
	Lang string
	Code string
	Post string
	// fenced is true when the block has a code fence, even an empty one.
	fenced bool
}

func textBlock(s string) block { return block{Pre: s} }

func codeBlock(pre, lang, code, post string) block {
	return block{Pre: pre, Lang: lang, Code: code, Post: post, fenced: true}
}

// String renders the block. The fence is longer than any backtick run in
// the code, so that a diff of a markdown file cannot close it early.
func (b block) String() string {
	if !b.fenced {
		return b.Pre
	}
	fence := fenceFor(b.Code)
	code := b.Code
	if code != "" && !strings.HasSuffix(code, "\n") {
		code += "\n"
	}
	return b.Pre + fence + b.Lang + "\n" + code + fence + "\n" + b.Post
}

func fenceFor(code string) string {
	longest, run := 0, 0
	for _, r := range code {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// truncated returns the block cut to at most limit bytes when rendered,
// dropping whole lines from the end of its code and saying so in a note
// placed after the fence; ok is false when even an empty code does not fit.
func (b block) truncated(limit int, note func(cut int) string) (block, bool) {
	if len(b.String()) <= limit {
		return b, true
	}
	if !b.fenced {
		return b, false
	}
	lines := strings.SplitAfter(b.Code, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	// Binary search on the number of lines kept.
	lo, hi := 0, len(lines)
	build := func(n int) block {
		c := b
		c.Code = strings.Join(lines[:n], "")
		c.Post = "\n" + note(len(lines)-n) + "\n" + b.Post
		return c
	}
	if len(build(0).String()) > limit {
		return b, false
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(build(mid).String()) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return build(lo), true
}

// SplitOptions say how a document is cut into comments.
type SplitOptions struct {
	// Limit is the largest body, in bytes (GitHub counts characters; bytes
	// are never fewer).
	Limit int
	// MaxParts is the most comments one document may take; the rest is
	// left out with a note. 0 means 1.
	MaxParts int
	// Marker returns the hidden marker of part i (1-based) of n.
	Marker func(i, n int) string
	// More is the note ending a document cut short, pointing to the full
	// content (the job summary).
	More string
}

// reserve is room kept in each part for its marker and continuation line.
const reserve = 400

// split packs blocks into at most MaxParts bodies of at most Limit bytes.
func split(blocks []block, o SplitOptions) []string {
	maxParts := max(o.MaxParts, 1)
	room := o.Limit - reserve - len(o.More) - 64
	if room < 200 {
		room = 200
	}
	cutNote := func(cut int) string {
		return fmt.Sprintf("_… %d more line(s) not shown here. %s_", cut, o.More)
	}
	var parts [][]string
	var cur []string
	size := 0
	omitted := 0
	flush := func() {
		if len(cur) > 0 {
			parts = append(parts, cur)
			cur, size = nil, 0
		}
	}
	for _, b := range blocks {
		if len(parts) >= maxParts {
			omitted++
			continue
		}
		s := b.String()
		if len(s) > room {
			// Too large for any part: cut it to what is left of this part
			// when that is a fair share, else to a part of its own.
			limit := room
			if left := room - size - 1; left >= room/4 {
				limit = left
			}
			t, ok := b.truncated(limit, cutNote)
			if !ok {
				omitted++
				continue
			}
			s = t.String()
		}
		if size+len(s)+1 > room {
			flush()
			if len(parts) >= maxParts {
				omitted++
				continue
			}
		}
		cur = append(cur, s)
		size += len(s) + 1
	}
	flush()
	if len(parts) == 0 {
		parts = [][]string{{}}
	}
	n := len(parts)
	out := make([]string, n)
	for i, p := range parts {
		var b strings.Builder
		if o.Marker != nil {
			b.WriteString(o.Marker(i+1, n))
			b.WriteByte('\n')
		}
		if i > 0 {
			fmt.Fprintf(&b, "_(continued, part %d of %d)_\n\n", i+1, n)
		}
		b.WriteString(strings.Join(p, "\n"))
		if i < n-1 {
			fmt.Fprintf(&b, "\n_(continued in part %d of %d)_\n", i+2, n)
		}
		if i == n-1 && omitted > 0 {
			fmt.Fprintf(&b, "\n> [!WARNING]\n> %d more section(s) did not fit. %s\n", omitted, o.More)
		}
		out[i] = b.String()
	}
	return out
}

// escapeCell makes text safe in a markdown table cell and inline text:
// pipes, HTML brackets, and line breaks and other control characters,
// which become spaces (see noControls).
func escapeCell(s string) string {
	return cellEscaper.Replace(noControls(s))
}

var cellEscaper = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;")

// escapeText makes untrusted text inert as inline markdown: escapeCell,
// with a backslash before each character that could open a link, an
// image, emphasis, strikethrough or code (\ ` * _ [ ] ~).
func escapeText(s string) string {
	s = noControls(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return escapeCell(b.String())
}

// noControls replaces each control character (C0 including line breaks
// and tabs, DEL, C1 including U+0085) and the line and paragraph
// separators U+2028 and U+2029 by a space: inline text stays on one line,
// whatever a renderer takes for a line break (GitHub ends a code span at
// "\r\r").
func noControls(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return unicode.IsControl(r) || r == 0x2028 || r == 0x2029 }

// escapeHTML escapes text placed inside HTML (a <summary>).
func escapeHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// code renders s as inline code on one line (control characters become
// spaces), safe for any backticks in s.
func code(s string) string {
	s = noControls(s)
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	n := 1
	for strings.Contains(s, strings.Repeat("`", n)) {
		n++
	}
	f := strings.Repeat("`", n)
	return f + " " + s + " " + f
}

// sortedLabels renders labels as k=v, sorted.
func sortedLabels(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
