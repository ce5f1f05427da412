package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// leaks reports the first of the secret's telltale parts that shows in
// text (never the text itself, which may hold the secret).
func leaks(text string, parts ...string) string {
	for _, p := range parts {
		if strings.Contains(text, p) {
			return p
		}
	}
	return ""
}

func TestSetValues(t *testing.T) {
	s := NewSet()
	s.Add("", "abc", " secret-value-1 ", "secret-value-1-longer")
	if got := s.Mask("a secret-value-1-longer and secret-value-1 abc"); got != "a *** and *** abc" {
		t.Errorf("got %q", got)
	}
	if got := string(s.MaskBytes([]byte("x secret-value-1 y"))); got != "x *** y" {
		t.Errorf("MaskBytes: got %q", got)
	}
	in := []byte("nothing here")
	if got := s.MaskBytes(in); &got[0] != &in[0] {
		t.Error("MaskBytes copied text with nothing to mask")
	}
	if s.Empty() {
		t.Error("Empty with values")
	}
}

// A value shorter than MinValue is ignored.
func TestSetShortValues(t *testing.T) {
	s := NewSet()
	s.Add("ab", " xyz ", "")
	if !s.Empty() {
		t.Error("short values were added")
	}
	if got := s.Mask("ab xyz"); got != "ab xyz" {
		t.Errorf("got %q", got)
	}
}

func TestSetNil(t *testing.T) {
	var s *Set
	s.Add("secret-value")
	if got := s.Mask("a secret-value"); got != "a secret-value" {
		t.Errorf("nil Set masked: %q", got)
	}
	if got := string(s.MaskBytes([]byte("secret-value"))); got != "secret-value" {
		t.Errorf("nil Set masked: %q", got)
	}
	var b bytes.Buffer
	w := s.Writer(&b)
	fmt.Fprint(w, "secret-value, no newline")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b.String() != "secret-value, no newline" {
		t.Errorf("nil Set's writer changed the text: %q", b.String())
	}
	if !s.Empty() {
		t.Error("nil Set not empty")
	}
	var zero Set
	zero.Add("secret-value")
	if got := zero.Mask("a secret-value"); got != "a ***" {
		t.Errorf("the zero Set: %q", got)
	}
}

func TestSetMultiLinePEM(t *testing.T) {
	s := NewSet()
	s.Add(testPEM)
	lines := strings.Split(testPEM, "\n")
	j, _ := json.Marshal(map[string]string{"key": testPEM})
	y, _ := yaml.Marshal(map[string]string{"key": testPEM})
	for name, text := range map[string]string{
		"whole":     testPEM,
		"indented":  "key: |\n    " + strings.Join(lines, "\n    "),
		"CRLF":      strings.Join(lines, "\r\n"),
		"one line":  lines[2],
		"base64":    base64.StdEncoding.EncodeToString([]byte(testPEM)),
		"JSON":      string(j),
		"YAML":      string(y),
		"JSON line": `{"line":"` + lines[1] + `"}`,
	} {
		if l := leaks(s.Mask(text), append(lines[1:len(lines)-1], "MIIEow", "qqGElvW", "TUlJRW93")...); l != "" {
			t.Errorf("%s: part %q of the key shows", name, l)
		}
	}
}

// A secret with characters that JSON and YAML escape is masked in their
// output, and in a URL query.
func TestSetEscapedForms(t *testing.T) {
	secret := "p\"a\\ss<w>&rd\tline2\u2028x"
	multi := "first \"line\" here\n<second> & line\\"
	s := NewSet()
	s.Add(secret, multi)
	marshal := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	noHTML := func(v any) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
		return b.String()
	}
	yml := func(v any) string { b, _ := yaml.Marshal(v); return string(b) }
	for _, v := range []string{secret, multi, "first \"line\" here", "<second> & line\\"} {
		for name, text := range map[string]string{
			"json.Marshal":        marshal(map[string]string{"v": v}),
			"no HTML escaping":    noHTML(map[string]any{"v": []string{v}}),
			"yaml":                yml(map[string]string{"v": v}),
			"query":               "https://x.example/?v=" + url.QueryEscape(v),
			"json inside a query": "payload=" + url.QueryEscape(marshal(v)),
		} {
			got := s.Mask(text)
			if l := leaks(got, "ss<w>", `ss\u003cw`, `w>&rd`, "line2", "first", "<second>", `\u003csecond`, "second%3E"); l != "" {
				t.Errorf("%s of value %d: %q shows in the masked text", name, len(v), l)
			}
			if !strings.Contains(got, Mask) {
				t.Errorf("%s of value %d: nothing masked", name, len(v))
			}
		}
	}
	if got := yamlEscaped("a\"b\\c\td\ne\x01\u0085\u00a0\ufeff"); got != `a\"b\\c\td\ne\x01\N`+"\u00a0"+`\uFEFF` {
		t.Errorf("yamlEscaped: %q", got)
	}
}

// Values are added while other goroutines mask and write (run with -race).
func TestSetConcurrent(t *testing.T) {
	s := NewSet()
	var out bytes.Buffer
	w := s.Writer(&out)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(3)
		go func() {
			defer wg.Done()
			s.Add(fmt.Sprintf("secret-number-%03d", i))
		}()
		go func() {
			defer wg.Done()
			_ = s.Mask(fmt.Sprintf("text with secret-number-%03d", i))
		}()
		go func() {
			defer wg.Done()
			fmt.Fprintf(w, "line %d\n", i)
		}()
	}
	wg.Wait()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		v := fmt.Sprintf("secret-number-%03d", i)
		if got := s.Mask("x " + v + " y"); got != "x *** y" {
			t.Errorf("value %d not masked after the adds: %q", i, got)
		}
	}
	if c := strings.Count(out.String(), "\n"); c != n {
		t.Errorf("%d lines written, want %d", c, n)
	}
}

// The writer masks a secret split across writes and otherwise passes the
// bytes on unchanged, without a final newline when there was none.
func TestSetWriterSplit(t *testing.T) {
	s := NewSet()
	s.Add("hunter2-secret", testPEM)
	text := "start hunter2-secret middle hunter2-secret\n" + testPEM + "\nend\r\nhunter2-secre (not quite) no newline"
	want := "start *** middle ***\n***\nend\r\nhunter2-secre (not quite) no newline"
	for _, size := range []int{1, 2, 3, 7, 13, 64, len(text)} {
		var out bytes.Buffer
		w := s.Writer(&out)
		for i := 0; i < len(text); i += size {
			if _, err := w.Write([]byte(text[i:min(i+size, len(text))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Errorf("writes of %d bytes: got %q", size, out.String())
		}
	}
}

// What cannot be the start of a secret is passed on at once (a progress
// line without a newline is not held back); a possible start is held until
// the rest shows, or Flush.
func TestSetWriterStreams(t *testing.T) {
	s := NewSet()
	s.Add("hunter2-secret")
	var out bytes.Buffer
	w := s.Writer(&out)
	fmt.Fprint(w, "deploying...")
	if out.String() != "deploying..." {
		t.Errorf("held back: %q", out.String())
	}
	fmt.Fprint(w, " hunt")
	if out.String() != "deploying... " {
		t.Errorf("a possible secret's start was passed on: %q", out.String())
	}
	fmt.Fprint(w, "er2-sec")
	fmt.Fprint(w, "ret!")
	if out.String() != "deploying... ***!" {
		t.Errorf("got %q", out.String())
	}
	fmt.Fprint(w, " hunter")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "deploying... ***! hunter" {
		t.Errorf("Flush: got %q", out.String())
	}
	// A value added later is masked in what is written after.
	s.Add("later-value")
	fmt.Fprint(w, "\nlater-value\n")
	if out.String() != "deploying... ***! hunter\n***\n" {
		t.Errorf("got %q", out.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSetWriterError(t *testing.T) {
	w := NewSet().Writer(failWriter{})
	if _, err := w.Write([]byte("x\n")); err == nil {
		t.Fatal("no error from a failing writer")
	}
	if _, err := w.Write([]byte("y\n")); err == nil {
		t.Error("the error was not kept")
	}
	if err := w.Flush(); err == nil {
		t.Error("Flush: no error")
	}
}

func TestSetMasksYAMLSingleQuotedForm(t *testing.T) {
	s := NewSet()
	s.Add("Pa'ss: w0rd!")
	if got := s.Mask("env: 'Pa''ss: w0rd!'\n"); strings.Contains(got, "w0rd") {
		t.Errorf("single-quoted YAML not masked: %q", got)
	}
}
