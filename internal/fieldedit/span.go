package fieldedit

import (
	"errors"
	"strings"

	"gopkg.in/yaml.v3"
)

// Span is where a scalar is written in its Source.
type Span struct {
	// [Start, End) is the scalar's text after its properties (a tag, an
	// anchor), which are kept: a quoted scalar with its quotes, a plain
	// scalar (empty for a null written as nothing), or a block scalar's
	// header (| or > and its indicators).
	Start, End int
	// For a block scalar, [End, Tail) is the rest of the header's line
	// (blanks and a comment) and [Tail, Stop) its content: from the line
	// break ending the header to the end of the last content line.
	// Otherwise Tail == Stop == End.
	Tail, Stop int
	// Indent is a block scalar's content indentation; -1 when it has no
	// content line, 0 for other scalars.
	Indent int
}

// Block reports whether the span is a block scalar's.
func (s Span) Block() bool { return s.Stop > s.End }

// Locate finds the bytes of the scalar node n, parsed from the source by
// yaml.v3. parent is the indentation of the block collection holding n: a
// mapping's (its keys' column - 1) or a sequence's (its dashes' column -
// 1), -1 for a document's root; only block scalars need it, whose content
// ends at the first line indented no deeper.
func (s *Source) Locate(n *yaml.Node, parent int) (Span, error) {
	if n.Kind != yaml.ScalarNode {
		return Span{}, errors.New("it is not a scalar")
	}
	i, ok := s.Offset(n.Line, n.Column)
	if !ok {
		return Span{}, errors.New("its position is outside the file")
	}
	data := s.data
	i = skipProperties(data, i)
	sp := Span{Start: i}
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if i >= len(data) || data[i] != '"' {
			return sp, errors.New("cannot find its opening quote")
		}
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return sp.inline(j + 1), nil
			}
		}
		return sp, errors.New("cannot find its closing quote")
	case n.Style&yaml.SingleQuotedStyle != 0:
		if i >= len(data) || data[i] != '\'' {
			return sp, errors.New("cannot find its opening quote")
		}
		for j := i + 1; j < len(data); j++ {
			if data[j] == '\'' {
				if j+1 < len(data) && data[j+1] == '\'' {
					j++
					continue
				}
				return sp.inline(j + 1), nil
			}
		}
		return sp, errors.New("cannot find its closing quote")
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return locateBlock(data, parent, sp)
	}
	if n.Value == "" {
		// A null written as nothing (key:): the place right after its
		// properties, or right after the ':' or '-' before it.
		if j, ok := s.Offset(n.Line, n.Column); ok && i > j {
			i = j + propertiesLen(data, j)
		} else {
			k := i
			for k > 0 && isBlank(data[k-1]) {
				k--
			}
			if k == 0 || data[k-1] != ':' && data[k-1] != '-' {
				return sp, errors.New("it is an empty value with no ':' or '-' before it to write after")
			}
		}
		sp.Start = i
		return sp.inline(i), nil
	}
	end, err := matchPlain(data, i, n.Value)
	if err != nil {
		return sp, err
	}
	return sp.inline(end), nil
}

func (s Span) inline(end int) Span {
	s.End, s.Tail, s.Stop = end, end, end
	return s
}

// skipProperties skips a node's tag and anchor (and the blanks, line
// breaks and comments after them) from i, where yaml.v3 puts the node.
func skipProperties(data []byte, i int) int {
	for i < len(data) && (data[i] == '!' || data[i] == '&') {
		i += propertyLen(data, i)
	separation:
		for i < len(data) {
			switch {
			case isBlank(data[i]):
				i++
			case breakLen(data, i) > 0:
				i += breakLen(data, i)
			case data[i] == '#' && (isBlank(data[i-1]) || data[i-1] == '\n' || data[i-1] == '\r'):
				i = lineEnd(data, i)
			default:
				break separation
			}
		}
	}
	return i
}

// propertiesLen is the length of the properties at i and the blanks
// between them, without what follows the last one.
func propertiesLen(data []byte, i int) int {
	start := i
	end := i
	for i < len(data) && (data[i] == '!' || data[i] == '&') {
		i += propertyLen(data, i)
		end = i
		for i < len(data) && isBlank(data[i]) {
			i++
		}
	}
	return end - start
}

// propertyLen is the length of the tag or anchor at i: up to a blank, a
// line break or a flow indicator (a verbatim tag !<...> up to its '>').
func propertyLen(data []byte, i int) int {
	j := i
	if strings.HasPrefix(string(data[i:min(len(data), i+2)]), "!<") {
		for j < len(data) && data[j] != '>' && breakLen(data, j) == 0 {
			j++
		}
		return min(j+1, len(data)) - i
	}
	for j < len(data) && !isBlank(data[j]) && breakLen(data, j) == 0 && !strings.ContainsRune(",[]{}", rune(data[j])) {
		j++
	}
	return max(j-i, 1)
}

// matchPlain finds the end of the plain scalar of value val written at i:
// its text is matched against the source, where a line break with the
// blanks around it reads as one space and blank lines as line feeds.
func matchPlain(data []byte, i int, val string) (int, error) {
	j := i
	for n := 0; n < len(val); {
		if j < len(data) && (isBlank(data[j]) || breakLen(data, j) > 0) {
			k := j
			for k < len(data) && isBlank(data[k]) {
				k++
			}
			if b := breakLen(data, k); b > 0 {
				// A fold: the break, blank lines, the next line's indentation.
				k += b
				lf := 0
				for {
					for k < len(data) && isBlank(data[k]) {
						k++
					}
					b := breakLen(data, k)
					if b == 0 {
						break
					}
					lf++
					k += b
				}
				fold := " "
				if lf > 0 {
					fold = strings.Repeat("\n", lf)
				}
				if !strings.HasPrefix(val[n:], fold) {
					return 0, errors.New("its text does not match the file")
				}
				n += len(fold)
				j = k
				continue
			}
		}
		if j >= len(data) || data[j] != val[n] {
			return 0, errors.New("its text does not match the file")
		}
		j++
		n++
	}
	return j, nil
}

// locateBlock finds a literal (|) or folded (>) block scalar whose header
// starts at sp.Start: the header, the rest of its line, the content lines.
func locateBlock(data []byte, parent int, sp Span) (Span, error) {
	i := sp.Start
	if i >= len(data) || (data[i] != '|' && data[i] != '>') {
		return sp, errors.New("cannot find its block indicator")
	}
	i++
	explicit := 0
	for i < len(data) && (data[i] == '+' || data[i] == '-' || data[i] >= '1' && data[i] <= '9') {
		if data[i] >= '1' && data[i] <= '9' {
			explicit = int(data[i] - '0')
		}
		i++
	}
	sp.End = i
	sp.Tail = lineEnd(data, i)
	sp.Stop = sp.Tail
	// As libyaml: an explicit indentation counts from the parent's, and
	// detected content is indented at least one deeper than it (and 1).
	indent := -1
	if explicit > 0 {
		indent = max(parent, 0) + explicit
	}
	least := max(parent+1, 1)
	found := false
	for next := sp.Tail + breakLen(data, sp.Tail); next < len(data) && sp.Tail < len(data); {
		e := lineEnd(data, next)
		n := 0
		for next+n < e && data[next+n] == ' ' {
			n++
		}
		if next+n < e && !(indent < 0 && isBlank(data[next+n]) && strings.TrimLeft(string(data[next+n:e]), " \t") == "") {
			if indent < 0 {
				if n < least {
					break
				}
				indent = n
			}
			if n < indent {
				break
			}
			sp.Stop = e
			found = true
		}
		if e >= len(data) {
			break
		}
		next = e + breakLen(data, e)
	}
	sp.Indent = indent
	if !found && explicit == 0 {
		sp.Indent = -1
	}
	return sp, nil
}
