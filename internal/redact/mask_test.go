package redact

import (
	"encoding/base64"
	"strings"
	"testing"
)

const testPEM = `-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun
VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK
LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo
-----END RSA PRIVATE KEY-----`

func TestMaskerValues(t *testing.T) {
	m := NewMasker("", "abc", " secret-value-1 ", "secret-value-1-longer")
	if got := m.Mask("a secret-value-1-longer and secret-value-1 abc"); got != "a *** and *** abc" {
		t.Errorf("got %q", got)
	}
	var none *Masker
	if none.Mask("secret-value-1") != "secret-value-1" {
		t.Error("the nil Masker masks")
	}
}

// A multi-line secret is masked whole, and line by line when it is printed
// a line at a time, re-indented or with other line breaks.
func TestMaskerMultiLine(t *testing.T) {
	m := NewMasker(testPEM)
	lines := strings.Split(testPEM, "\n")
	for _, text := range []string{
		testPEM,
		"key: |\n    " + strings.Join(lines, "\n    "),
		strings.Join(lines, "\r\n"),
		strings.Join(lines, ""),
		lines[2],
	} {
		got := m.Mask(text)
		for _, l := range lines {
			if strings.Contains(got, l) {
				t.Errorf("line %q of the key shows in\n%s", l, got)
			}
		}
		if strings.Contains(got, "MIIEow") || strings.Contains(got, "qqGElvW") {
			t.Errorf("part of the key shows in\n%s", got)
		}
	}
	// Short lines of a secret are not masked everywhere.
	m = NewMasker("{\n---\n  password: hunter2-long\n}")
	if got := m.Mask("}\n---\n{"); got != "}\n---\n{" {
		t.Errorf("short lines masked: %q", got)
	}
	if got := m.Mask("password: hunter2-long"); got != "***" {
		t.Errorf("a line of the secret not masked: %q", got)
	}
}

// The base64 forms of a secret are masked wherever the secret starts in the
// encoded data, in both alphabets.
func TestMaskerBase64(t *testing.T) {
	secret := "s3cr3t+t0ken/with?bytes~~>"
	m := NewMasker(secret)
	for _, data := range []string{
		secret, secret + "\n", "user:" + secret, "x" + secret + "y", "xy" + secret, `{"auth":"` + secret + `"}`,
	} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			e := enc.EncodeToString([]byte(data))
			got := m.Mask("value: " + e)
			if !strings.Contains(got, Mask) {
				t.Errorf("base64 of %q (%s) not masked: %s", data, e, got)
				continue
			}
			// What is left of the encoding is a few characters at its ends.
			if left := len(strings.TrimPrefix(got, "value: ")) - len(Mask); left > len(e)-len(secret)*4/3+4 {
				t.Errorf("base64 of %q: %q masked as %q", data, e, got)
			}
		}
	}
	// A short secret's encoding is too short to be masked on its own.
	if got := NewMasker("abcd").Mask(base64.StdEncoding.EncodeToString([]byte("abcd"))); got != "YWJjZA==" {
		t.Errorf("got %q", got)
	}
}

func TestMaskerThen(t *testing.T) {
	m := NewMasker("hunter2").Then(func(s string) string { return strings.ReplaceAll(s, "extra", "[x]") })
	if got := m.Mask("hunter2 extra"); got != "*** [x]" {
		t.Errorf("got %q", got)
	}
}

func collect(m *Masker, limit int, writes ...string) []string {
	var out []string
	w := m.Lines(limit, func(s string) { out = append(out, s) })
	for _, s := range writes {
		_, _ = w.Write([]byte(s))
	}
	_ = w.Close()
	return out
}

func TestLines(t *testing.T) {
	got := collect(NewMasker("hunter2"), 64, "one\r\ntwo hun", "ter2 three\n\nfour")
	want := []string{"one", "two *** three", "", "four"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := collect(nil, 64, "a\nb\n"); strings.Join(got, "|") != "a|b" {
		t.Errorf("nil masker: %q", got)
	}
}

// A line longer than the limit is passed on in pieces, with a secret masked
// wherever the cuts fall, and what follows it is kept.
func TestLinesLongLine(t *testing.T) {
	secret := "0123456789-secret-ABCDEFGHIJ"
	for limit := 5; limit < 80; limit += 7 {
		for _, chunk := range []int{1, 3, 17, 1000} {
			long := strings.Repeat("x", 37) + secret + strings.Repeat("y", 101) + secret + strings.Repeat("zé", 50)
			input := long + "\nafter\n" + secret
			var writes []string
			for s := input; s != ""; {
				n := min(chunk, len(s))
				writes = append(writes, s[:n])
				s = s[n:]
			}
			got := collect(NewMasker(secret), limit, writes...)
			if len(got) < 3 || got[len(got)-2] != "after" || got[len(got)-1] != Mask {
				t.Fatalf("limit %d chunk %d: lines after the long one lost: %q", limit, chunk, got)
			}
			joined := strings.Join(got[:len(got)-2], "")
			want := strings.Repeat("x", 37) + Mask + strings.Repeat("y", 101) + Mask + strings.Repeat("zé", 50)
			if joined != want {
				t.Errorf("limit %d chunk %d: pieces join to %q", limit, chunk, joined)
			}
			for _, p := range got {
				if len(p) > limit+len(secret)+len(Mask)+4 {
					t.Errorf("limit %d: a piece of %d bytes", limit, len(p))
				}
				if !strings.HasPrefix(p, "***") && strings.ContainsRune(p, '\uFFFD') {
					t.Errorf("a rune was cut: %q", p)
				}
			}
		}
	}
}

// 2 MiB on one line, then more output: nothing is dropped, nothing leaks.
func TestLinesTwoMiBLine(t *testing.T) {
	secret := "tok-1234567890"
	big := strings.Repeat("a", 1<<20) + secret + strings.Repeat("b", 1<<20)
	var n, pieces int
	var last string
	w := NewMasker(secret).Lines(64<<10, func(s string) {
		n += len(s)
		pieces++
		last = s
		if strings.Contains(s, secret) {
			t.Error("the secret leaked")
		}
	})
	for s := big + "\nthe end\n"; s != ""; {
		k := min(32<<10, len(s))
		_, _ = w.Write([]byte(s[:k]))
		s = s[k:]
	}
	_ = w.Close()
	if last != "the end" || n != 2<<20+len(Mask)+len("the end") || pieces < 32 {
		t.Errorf("last %q, %d bytes in %d pieces", last, n, pieces)
	}
}

// BenchmarkLines: SCRIPT_RUN output through a Masker of 20 secrets (one a
// PEM key), 1 MiB of 100-byte lines per iteration.
func BenchmarkLines(b *testing.B) {
	secrets := []string{testPEM}
	for i := range 19 {
		secrets = append(secrets, strings.Repeat(string(rune('a'+i)), 3)+"-secret-value-0123456789")
	}
	m := NewMasker(secrets...)
	line := strings.Repeat("log line with some text, numbers 0123456789 and -----dashes----- ", 2)[:99] + "\n"
	data := []byte(strings.Repeat(line, (1<<20)/len(line)))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		w := m.Lines(64<<10, func(string) {})
		for p := data; len(p) > 0; {
			n := min(32<<10, len(p))
			_, _ = w.Write(p[:n])
			p = p[n:]
		}
		_ = w.Close()
	}
}
