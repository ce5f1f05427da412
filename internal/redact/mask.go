package redact

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf8"
)

// Mask replaces what is redacted.
const Mask = "***"

// Shortest lengths of what a Masker masks: shorter strings would mangle
// ordinary text and are no credentials.
const (
	// MinValue is the shortest secret value masked.
	MinValue = 4
	// minLine is the shortest line of a multi-line value masked on its
	// own ("-----END RSA PRIVATE KEY-----" is; "}" is not).
	minLine = 6
	// minEncoded is the shortest base64 form masked.
	minEncoded = 8
)

// Masker replaces secret values in text with "***": each value whole,
// each line of a multi-line value on its own (a PEM key printed with other
// line breaks or indentation is still masked, and text is masked a line
// at a time), and the standard and URL-safe base64 encodings of each value
// at each of the three alignments it can have inside a longer encoded
// text (the characters that also depend on neighbouring bytes are left
// out, so `echo "$TOKEN" | base64` is masked but for its last characters).
// A longer match wins over a shorter one at the same place. The nil Masker
// masks nothing.
type Masker struct {
	// byFirst lists the patterns by their first byte, longest first.
	byFirst [256][]string
	longest int
	then    func(string) string
}

// NewMasker returns a Masker of the values; surrounding white space is
// ignored, and values shorter than MinValue are.
func NewMasker(values ...string) *Masker {
	m := &Masker{}
	for _, v := range values {
		m.add(v)
	}
	return m
}

// Add adds a value.
func (m *Masker) Add(v string) {
	m.add(v)
}

func (m *Masker) add(v string) {
	v = strings.TrimSpace(v)
	if len(v) < MinValue {
		return
	}
	m.pattern(v)
	for _, l := range valueLines(v) {
		m.pattern(l)
	}
	for _, enc := range base64Forms(v) {
		if len(enc) >= minEncoded {
			m.pattern(enc)
		}
	}
}

// valueLines returns the lines of a multi-line value that are masked on
// their own (trimmed, at least minLine long); none for a one-line value.
func valueLines(v string) []string {
	if !strings.ContainsAny(v, "\r\n") {
		return nil
	}
	var out []string
	for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if l = strings.TrimSpace(l); len(l) >= minLine {
			out = append(out, l)
		}
	}
	return out
}

func (m *Masker) pattern(p string) {
	ps := m.byFirst[p[0]]
	if slices.Contains(ps, p) {
		return
	}
	ps = append(ps, p)
	slices.SortStableFunc(ps, func(a, b string) int { return len(b) - len(a) })
	m.byFirst[p[0]] = ps
	m.longest = max(m.longest, len(p))
}

// base64Forms returns the parts of the base64 encodings (standard and
// URL-safe alphabets) of v that depend on v alone, for v starting at each
// byte offset modulo 3 of the encoded data.
func base64Forms(v string) []string {
	var out []string
	for shift := range 3 {
		b := append(make([]byte, shift, shift+len(v)), v...)
		enc := base64.RawStdEncoding.EncodeToString(b)
		// Character k holds bits [6k, 6k+6) of b: keep those that lie
		// within v's bits [8*shift, 8*len(b)).
		from := (8*shift + 5) / 6
		to := 8 * len(b) / 6
		if to <= from {
			continue
		}
		s := enc[from:to]
		out = append(out, s)
		if u := strings.NewReplacer("+", "-", "/", "_").Replace(s); u != s {
			out = append(out, u)
		}
	}
	return out
}

// Then returns a Masker that masks like m, then applies f to the result
// (f nil: m itself).
func (m *Masker) Then(f func(string) string) *Masker {
	if f == nil {
		return m
	}
	if m == nil {
		m = &Masker{}
	}
	c := *m
	if prev := m.then; prev != nil {
		c.then = func(s string) string { return f(prev(s)) }
	} else {
		c.then = f
	}
	return &c
}

// Mask returns s with the secrets replaced by "***".
func (m *Masker) Mask(s string) string {
	if m == nil {
		return s
	}
	out, _ := m.maskPrefix(s, len(s))
	return out
}

// maskPrefix masks s from its start up to at least byte n (further when a
// match or a UTF-8 sequence crosses n), and returns the masked text and how
// many bytes of s it covers. Every match that starts before n lies within
// s when len(s) >= n+m.longest-1.
func (m *Masker) maskPrefix(s string, n int) (string, int) {
	var b strings.Builder
	last, i := 0, 0
	for i < len(s) && (i < n || i < n+utf8.UTFMax-1 && !utf8.RuneStart(s[i])) {
		matched := false
		for _, p := range m.byFirst[s[i]] {
			if strings.HasPrefix(s[i:], p) {
				b.WriteString(s[last:i])
				b.WriteString(Mask)
				i += len(p)
				last, matched = i, true
				break
			}
		}
		if !matched {
			i++
		}
	}
	var out string
	if last == 0 {
		out = s[:i]
	} else {
		b.WriteString(s[last:i])
		out = b.String()
	}
	if m.then != nil {
		out = m.then(out)
	}
	return out, i
}

// LineWriter passes what is written to it on, masked, a line at a time.
// It is not safe for concurrent writes (os/exec writes to one writer given
// as both Stdout and Stderr from one goroutine at a time).
type LineWriter struct {
	m    *Masker
	max  int
	emit func(string)
	buf  []byte
	// piece is set when the current line was passed on in part already.
	piece bool
}

// Lines returns a writer that calls emit with each line written (without
// its line break, nor a "\r" before it), masked by m (nil: not masked). A
// line longer than limit bytes is passed on in pieces of about limit bytes,
// each masked whole: nothing is dropped, and a secret is masked wherever
// the cuts fall. Close passes on an unterminated last line.
func (m *Masker) Lines(limit int, emit func(string)) *LineWriter {
	return &LineWriter{m: m, max: max(limit, 1), emit: emit}
}

func (w *LineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	w.flush(false)
	return len(p), nil
}

// Close passes on what is left.
func (w *LineWriter) Close() error {
	w.flush(true)
	return nil
}

func (w *LineWriter) flush(final bool) {
	longest := 0
	if w.m != nil {
		longest = w.m.longest
	}
	start := 0
	for start < len(w.buf) {
		rest := w.buf[start:]
		nl := bytes.IndexByte(rest, '\n')
		switch {
		case nl >= 0 && nl <= w.max:
			w.line(string(rest[:nl]))
			start += nl + 1
		case nl > w.max:
			// A match cannot cross the line break.
			out, n := w.m.cut(string(rest[:nl]), w.max)
			w.emit(out)
			w.piece = true
			start += n
		case len(rest) >= w.max+longest:
			out, n := w.m.cut(string(rest), w.max)
			w.emit(out)
			w.piece = true
			start += n
		case final:
			w.line(string(rest))
			start = len(w.buf)
		default:
			// Keep the tail, in a fresh array so the buffer does not grow
			// with everything ever written.
			w.buf = append(w.buf[:0:0], rest...)
			return
		}
	}
	w.buf = w.buf[:0]
}

// line passes on the end of a line.
func (w *LineWriter) line(s string) {
	s = strings.TrimSuffix(s, "\r")
	if s == "" && w.piece {
		w.piece = false
		return
	}
	w.piece = false
	w.emit(w.m.Mask(s))
}

// cut masks a prefix of at least n bytes of s (see maskPrefix).
func (m *Masker) cut(s string, n int) (string, int) {
	if m == nil {
		m = &Masker{}
	}
	return m.maskPrefix(s, n)
}
