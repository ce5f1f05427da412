package fieldedit

import (
	"fmt"
	"strconv"
	"strings"
)

// A path is PipeCD's yamlField syntax (goccy/go-yaml's YAMLPath):
//
//	$             the document's root
//	.key          a mapping's value
//	.'a.b'        a key with reserved characters ('\' escapes the next one)
//	['a.b']       the same, also ["a.b"]
//	[n]           a sequence's item n (from 0)
//	[*]           every item of a sequence
//	..key         every value of key, at any depth below
type path struct {
	text  string
	steps []step
}

type stepKind int

const (
	stepKey     stepKind = iota // .key
	stepIndex                   // [n]
	stepAll                     // [*]
	stepDescend                 // ..key
)

type step struct {
	kind  stepKind
	key   string // stepKey, stepDescend
	index int    // stepIndex
}

// String writes the step back in path syntax.
func (s step) String() string {
	switch s.kind {
	case stepIndex:
		return "[" + strconv.Itoa(s.index) + "]"
	case stepAll:
		return "[*]"
	case stepDescend:
		return ".." + strings.TrimPrefix(keyStep(s.key), ".")
	}
	return keyStep(s.key)
}

// keyStep writes .key, or ['key'] when it needs quoting.
func keyStep(k string) string {
	if q := pathKey(k); strings.HasPrefix(q, "[") {
		return q
	}
	return "." + k
}

// pathKey writes a key as a path step does: quoted when it holds a
// character the path syntax reserves.
func pathKey(k string) string {
	if k == "" || strings.ContainsAny(k, ".[]*'\"\\") {
		return "['" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(k) + "']"
	}
	return k
}

// maxIndex bounds [n]: no sequence written in a file of MaxFileSize holds
// more items.
const maxIndex = MaxFileSize

// pathParser reads a path rune by rune; pos is the index of the next rune.
type pathParser struct {
	text string
	r    []rune
	pos  int
}

// parsePath parses a yamlField path; its errors say at which character
// (1-based) the path goes wrong. With implicitRoot, a path may leave out
// its leading "$." (image_tag for $.image_tag).
func parsePath(text string, implicitRoot bool) (*path, error) {
	p := &pathParser{text: text, r: []rune(text)}
	if strings.TrimSpace(text) == "" {
		return nil, errorf(text, 0, "the path is empty; write one such as $.spec.template.spec.containers[0].image")
	}
	out := &path{text: text}
	switch {
	case p.r[0] == '$':
		p.pos = 1
	case implicitRoot:
		key, err := p.key(0)
		if err != nil {
			return nil, err
		}
		out.steps = append(out.steps, step{kind: stepKey, key: key})
	default:
		return nil, p.fail(0, "a path starts with $ (the document's root), e.g. $.%s", strings.TrimPrefix(text, "."))
	}
	for p.pos < len(p.r) {
		s, err := p.step()
		if err != nil {
			return nil, err
		}
		out.steps = append(out.steps, s)
	}
	return out, nil
}

func (p *pathParser) fail(at int, format string, args ...any) *Error {
	return errorf(p.text, 0, "invalid path: at character %d: %s", at+1, fmt.Sprintf(format, args...))
}

func (p *pathParser) step() (step, error) {
	at := p.pos
	switch c := p.r[p.pos]; c {
	case '.':
		p.pos++
		kind := stepKey
		if p.pos < len(p.r) && p.r[p.pos] == '.' {
			kind = stepDescend
			p.pos++
		}
		if p.pos < len(p.r) && p.r[p.pos] == '[' && kind == stepDescend {
			// ..['key']
			s, err := p.bracket()
			if err != nil {
				return s, err
			}
			if s.kind != stepKey {
				return s, p.fail(at, "'..' takes a key (..image), not an index")
			}
			s.kind = stepDescend
			return s, nil
		}
		key, err := p.key(at)
		return step{kind: kind, key: key}, err
	case '[':
		return p.bracket()
	default:
		return step{}, p.fail(at, "expected '.', '..' or '[' before %q", string(c))
	}
}

// key reads the key after '.' or '..': quoted or bare.
func (p *pathParser) key(dot int) (string, error) {
	if p.pos >= len(p.r) {
		return "", p.fail(dot, "a key is missing after the '.' that ends the path")
	}
	if c := p.r[p.pos]; c == '\'' || c == '"' {
		k, err := p.quoted()
		if err != nil {
			return "", err
		}
		if p.pos < len(p.r) && p.r[p.pos] != '.' && p.r[p.pos] != '[' {
			return "", p.fail(p.pos, "expected '.', '[' or the end after the quoted key %q", k)
		}
		return k, nil
	}
	start := p.pos
	for ; p.pos < len(p.r); p.pos++ {
		switch c := p.r[p.pos]; c {
		case '.', '[':
			if p.pos == start {
				return "", p.fail(dot, "a key is missing after '.'")
			}
			return string(p.r[start:p.pos]), nil
		case ']':
			return "", p.fail(p.pos, "']' without '['")
		case '*':
			return "", p.fail(p.pos, "'*' is only allowed as [*] (every item of a sequence); quote a key holding it: ['%s']", string(p.r[start:]))
		case '\'', '"':
			return "", p.fail(p.pos, "a quote inside a key: quote the whole key instead, e.g. ['it\\'s']")
		}
	}
	return string(p.r[start:]), nil
}

// quoted reads a '...' or "..." key; a backslash escapes the next rune.
func (p *pathParser) quoted() (string, error) {
	open := p.pos
	q := p.r[open]
	var b strings.Builder
	for p.pos++; p.pos < len(p.r); p.pos++ {
		switch c := p.r[p.pos]; {
		case c == '\\' && p.pos+1 < len(p.r):
			p.pos++
			b.WriteRune(p.r[p.pos])
		case c == q:
			p.pos++
			if b.Len() == 0 {
				return "", p.fail(open, "an empty quoted key")
			}
			return b.String(), nil
		default:
			b.WriteRune(c)
		}
	}
	return "", p.fail(open, "the quote %c is never closed", q)
}

// bracket reads [n], [*], ['key'] or ["key"].
func (p *pathParser) bracket() (step, error) {
	open := p.pos
	p.pos++
	if p.pos >= len(p.r) {
		return step{}, p.fail(open, "'[' ends the path; expected [n], [*] or ['key']")
	}
	var s step
	switch c := p.r[p.pos]; {
	case c == '*':
		p.pos++
		s.kind = stepAll
	case c == '\'' || c == '"':
		k, err := p.quoted()
		if err != nil {
			return s, err
		}
		s = step{kind: stepKey, key: k}
	case c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.r) && p.r[p.pos] >= '0' && p.r[p.pos] <= '9' {
			p.pos++
		}
		n, err := strconv.Atoi(string(p.r[start:p.pos]))
		if err != nil || n > maxIndex {
			return s, p.fail(start, "the index %s is too large", string(p.r[start:p.pos]))
		}
		s = step{kind: stepIndex, index: n}
	case c == '-':
		return s, p.fail(p.pos, "negative indexes are not supported; count from 0")
	default:
		return s, p.fail(p.pos, "expected an index ([0]), [*] or a quoted key (['key']) after '[', found %q", string(c))
	}
	if p.pos >= len(p.r) || p.r[p.pos] != ']' {
		return s, p.fail(open, "'[' is never closed by ']'")
	}
	p.pos++
	return s, nil
}
