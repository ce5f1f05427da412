package fieldedit

import (
	"bytes"
	"sort"
	"unicode/utf8"
)

// Source is the text of a YAML file indexed by line, to find the bytes of
// the nodes gopkg.in/yaml.v3 parses from it (by their Line and Column).
type Source struct {
	data  []byte
	lines []int // the byte offset of each line; index 0 is line 1
}

// NewSource indexes data.
func NewSource(data []byte) *Source {
	return &Source{data: data, lines: lineStarts(data)}
}

// Offset converts yaml.v3's 1-based line and column (in characters, a
// leading byte order mark not counted) to a byte offset; false when the
// position is outside the text.
func (s *Source) Offset(line, column int) (int, bool) {
	if line < 1 || line > len(s.lines) || column < 1 {
		return 0, false
	}
	i := s.lines[line-1]
	for c := 1; c < column; c++ {
		if i >= len(s.data) || breakLen(s.data, i) > 0 {
			return 0, false
		}
		_, n := utf8.DecodeRune(s.data[i:])
		i += n
	}
	return i, true
}

// Line is the 1-based line holding byte offset i.
func (s *Source) Line(i int) int {
	return max(1, sort.Search(len(s.lines), func(l int) bool { return s.lines[l] > i }))
}

// breakLen is the length of the line break at data[i] as YAML (yaml.v3)
// counts them: \r\n, \r, \n, NEL, LS and PS; 0 when none.
func breakLen(data []byte, i int) int {
	switch {
	case i >= len(data) || i < 0:
		return 0
	case data[i] == '\r':
		if i+1 < len(data) && data[i+1] == '\n' {
			return 2
		}
		return 1
	case data[i] == '\n':
		return 1
	case data[i] < 0x80:
		return 0
	case bytes.HasPrefix(data[i:], []byte("\u0085")):
		return 2
	case bytes.HasPrefix(data[i:], []byte("\u2028")), bytes.HasPrefix(data[i:], []byte("\u2029")):
		return 3
	}
	return 0
}

// lineStarts returns the byte offset of each line (index 0 is line 1).
// yaml.v3 does not count a leading byte order mark in columns.
func lineStarts(data []byte) []int {
	first := 0
	if bytes.HasPrefix(data, bom) {
		first = len(bom)
	}
	starts := []int{first}
	for i := first; i < len(data); {
		if n := breakLen(data, i); n > 0 {
			i += n
			starts = append(starts, i)
			continue
		}
		i++
	}
	return starts
}

var bom = []byte("\ufeff")

// lineEnd is the offset of the line break ending the line holding i (or
// len(data)).
func lineEnd(data []byte, i int) int {
	for i < len(data) && breakLen(data, i) == 0 {
		i++
	}
	return i
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }
