package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Set is the registry of a run's secret values (the values pipe decrypts,
// the credentials it is given) and masks them in everything the run
// writes: its output streams, the files and notes it writes and the
// requests it sends to CI systems and notification receivers.
//
// A Set masks what a Masker does (each value whole, each line of a
// multi-line value, the base64 forms) and also, of each value and of each
// of its lines, the forms it takes inside encoded text: JSON-escaped, with
// and without HTML escaping (as json.Marshal and an Encoder with
// SetEscapeHTML(false) write it, without the quotes), YAML double-quoted
// (as gopkg.in/yaml.v3 escapes it, without the quotes), URL query-escaped
// and the JSON forms URL query-escaped (a JSON payload in a form body). A value with quotes, backslashes, <>& or line breaks is so
// masked in a JSON plan, a YAML manifest or a form body too. Values shorter
// than MinValue (after trimming surrounding white space) are ignored: they
// would mangle ordinary text and are no credentials.
//
// A Set is safe for concurrent use: values may be added while other
// goroutines mask. Mask reads a snapshot without locking; Add replaces the
// snapshot with a copy that has the new values. The nil *Set masks nothing.
type Set struct {
	mu sync.Mutex // serialises Add
	m  atomic.Pointer[Masker]
}

// NewSet returns an empty Set.
func NewSet() *Set {
	s := &Set{}
	s.m.Store(&Masker{})
	return s
}

// Add registers secret values. Text written before a value is added is not
// masked again: add values before they are used.
func (s *Set) Add(values ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.masker()
	var next *Masker
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < MinValue {
			continue
		}
		if next == nil {
			next = cur.cloneForAdd()
		}
		next.addForms(v)
	}
	if next != nil {
		s.m.Store(next)
	}
}

// masker is the current snapshot (nil for the nil Set).
func (s *Set) masker() *Masker {
	if s == nil {
		return nil
	}
	if m := s.m.Load(); m != nil {
		return m
	}
	return &Masker{} // the zero Set
}

// Mask returns s with every form of the secrets replaced by "***".
func (s *Set) Mask(text string) string {
	return s.masker().Mask(text)
}

// MaskBytes returns b with every form of the secrets replaced by "***"; b
// itself when there is nothing to mask.
func (s *Set) MaskBytes(b []byte) []byte {
	m := s.masker()
	if m == nil || m.longest == 0 || len(b) == 0 {
		return b
	}
	out := m.Mask(string(b))
	if len(out) == len(b) && out == string(b) {
		return b
	}
	return []byte(out)
}

// Empty reports whether the Set holds no value.
func (s *Set) Empty() bool {
	m := s.masker()
	return m == nil || m.longest == 0
}

// cloneForAdd returns a copy of m that patterns can be added to without
// changing m: each list is clipped, so appending to it reallocates.
func (m *Masker) cloneForAdd() *Masker {
	c := &Masker{longest: m.longest}
	for i, ps := range m.byFirst {
		c.byFirst[i] = slices.Clip(ps)
	}
	return c
}

// addForms adds v (trimmed, at least MinValue long) as Masker.Add does,
// then the escaped forms of v and of each of its lines.
func (m *Masker) addForms(v string) {
	m.add(v)
	m.escapedForms(v)
	for _, l := range valueLines(v) {
		m.escapedForms(l)
	}
}

func (m *Masker) escapedForms(v string) {
	j, jh := jsonEscaped(v, false), jsonEscaped(v, true)
	// YAML's single-quoted form doubles the quotes ('Pa''ss: w0rd').
	single := strings.ReplaceAll(v, "'", "''")
	for _, f := range []string{j, jh, yamlEscaped(v), single, url.QueryEscape(v), url.QueryEscape(j), url.QueryEscape(jh)} {
		if len(f) >= MinValue && f != v {
			m.pattern(f)
		}
	}
}

// jsonEscaped is v as encoding/json writes it in a string, without the
// quotes.
func jsonEscaped(v string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(v); err != nil {
		return v
	}
	out := strings.TrimSuffix(b.String(), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(out, `"`), `"`)
}

// yamlEscaped is v as gopkg.in/yaml.v3 writes it in a double-quoted
// scalar, without the quotes: line breaks, quotes, backslashes and
// non-printable characters escaped.
func yamlEscaped(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRuneInString(v[i:])
		i += n
		if esc, ok := yamlEscapes[r]; ok {
			b.WriteString(esc)
			continue
		}
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02X`, v[i-1])
		case r >= 0x20 && r <= 0x7E || r >= 0xA0 && r <= 0xD7FF ||
			r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF || r >= 0x10000 && r <= 0x10FFFF:
			b.WriteRune(r)
		case r <= 0xFF:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	return b.String()
}

var yamlEscapes = map[rune]string{
	0x00: `\0`, 0x07: `\a`, 0x08: `\b`, 0x09: `\t`, 0x0A: `\n`, 0x0B: `\v`, 0x0C: `\f`, 0x0D: `\r`, 0x1B: `\e`,
	'"': `\"`, '\\': `\\`, 0x85: `\N`, 0x2028: `\L`, 0x2029: `\P`,
}

// SetWriter passes what is written to it on to another writer with the
// secrets of a Set masked. It holds back only a tail that could be the
// start of a secret (a secret split across writes is still masked) and
// passes the rest on at once, so progress lines and redrawn views are not
// delayed; the bytes are otherwise those written, line breaks included.
// Flush passes on the tail held back. It is safe for concurrent use.
type SetWriter struct {
	mu  sync.Mutex
	set *Set
	w   io.Writer
	buf []byte
	err error
}

// Writer returns a writer that masks the secrets of s (those added until
// each byte is passed on) in what it passes on to w.
func (s *Set) Writer(w io.Writer) *SetWriter {
	return &SetWriter{set: s, w: w}
}

// Write masks and passes p on, but for a tail that could be the start of
// a secret. It returns len(p) unless w failed.
func (w *SetWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	w.buf = append(w.buf, p...)
	if err := w.drain(false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString is Write of a string.
func (w *SetWriter) WriteString(s string) (int, error) {
	return w.Write([]byte(s))
}

// Flush passes on what is held back, masked.
func (w *SetWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	return w.drain(true)
}

// Close flushes; it does not close the writer it writes to.
func (w *SetWriter) Close() error {
	return w.Flush()
}

// drain passes on the buffer, masked, up to the first place a secret may
// start that the buffer does not hold whole (all of it when final).
func (w *SetWriter) drain(final bool) error {
	m := w.set.masker()
	buf := w.buf
	var out []byte
	i, last := 0, 0
	if m != nil && m.longest > 0 {
	scan:
		for i < len(buf) {
			rest := buf[i:]
			matched := 0
			for _, p := range m.byFirst[buf[i]] { // longest first
				if len(p) <= len(rest) {
					if string(rest[:len(p)]) == p {
						matched = len(p)
						break
					}
				} else if !final && string(rest) == p[:len(rest)] {
					break scan // a longer secret may follow
				}
			}
			if matched == 0 {
				i++
				continue
			}
			out = append(out, buf[last:i]...)
			out = append(out, Mask...)
			i += matched
			last = i
		}
	} else {
		i = len(buf)
	}
	if last == 0 {
		out = buf[:i]
	} else {
		out = append(out, buf[last:i]...)
	}
	var err error
	if len(out) > 0 {
		if _, err = w.w.Write(out); err != nil {
			w.err = err
		}
	}
	// Keep the tail at the start of the buffer, so it does not grow with
	// everything ever written.
	w.buf = append(w.buf[:0], buf[i:]...)
	return err
}
