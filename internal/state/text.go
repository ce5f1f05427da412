package state

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SafeText returns s fit for a terminal: the runes that could move the
// cursor, clear the screen, retitle the window or reorder what follows
// (control characters such as ESC, CR, TAB and newline; C1 controls; line
// and paragraph separators; bidirectional overrides), and bytes that are not
// UTF-8, are written as Go escapes (\x1b, \r, \u202e); everything else,
// other scripts and emoji included, is kept as it is. Every text output of
// data read from notes and lock refs goes through it: anyone who can push
// to those refs chooses that data. JSON output needs no such step
// (encoding/json escapes control characters itself).
func SafeText(s string) string {
	i := unsafeAt(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&0xf, 16))
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\r', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeAt is the index of the first rune SafeText escapes, or -1.
func unsafeAt(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
		if unsafeRune(r) {
			return i
		}
	}
	return -1
}

func unsafeRune(r rune) bool {
	if r < 0x20 || r == 0x7f {
		return true
	}
	if r < 0x80 {
		return false
	}
	switch {
	case unicode.IsControl(r): // C1: 0x80-0x9f (CSI is 0x9b)
		return true
	case r == '\u2028' || r == '\u2029': // line and paragraph separators
		return true
	case unicode.Is(unicode.Bidi_Control, r): // U+061C, U+200E-F, U+202A-E, U+2066-9
		return true
	}
	return false
}
