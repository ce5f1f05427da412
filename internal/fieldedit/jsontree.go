package fieldedit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// jsonTree is a JSON document read as yaml.v3 nodes (so that paths apply
// to it as to YAML) with the bytes of each scalar. yaml.v3 itself is not
// used: it refuses some valid JSON (the \/ escape, surrogate pairs).
type jsonTree struct {
	doc   *yaml.Node
	spans map[*yaml.Node]Span
}

// maxJSONDepth bounds nesting as encoding/json does.
const maxJSONDepth = 10000

type jsonParser struct {
	data      []byte
	i         int
	line      int
	lineStart int
	depth     int
	spans     map[*yaml.Node]Span
}

// parseJSON reads data (what names it in errors), which may start with a
// byte order mark.
func parseJSON(path string, data []byte, what string) (*jsonTree, error) {
	start := 0
	if bytes.HasPrefix(data, bom) {
		start = len(bom)
	}
	if !json.Valid(data[start:]) {
		var v any
		err := json.Unmarshal(data[start:], &v)
		line := 0
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line = 1 + bytes.Count(data[:min(len(data), start+int(se.Offset))], []byte("\n"))
		}
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, errorf(path, line, "%s is not valid JSON: %v", what, err)
	}
	p := &jsonParser{data: data, i: start, line: 1, lineStart: start, spans: map[*yaml.Node]Span{}}
	p.space()
	root, err := p.value()
	if err != nil {
		return nil, errorf(path, p.line, "%s cannot be read: %v", what, err)
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Line: 1, Column: 1, Content: []*yaml.Node{root}}
	return &jsonTree{doc: doc, spans: p.spans}, nil
}

func (p *jsonParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case '\n':
			p.line++
			p.lineStart = p.i + 1
		case ' ', '\t', '\r':
		default:
			return
		}
		p.i++
	}
}

func (p *jsonParser) node(kind yaml.Kind, tag string) *yaml.Node {
	return &yaml.Node{Kind: kind, Tag: tag, Line: p.line, Column: p.i - p.lineStart + 1}
}

func (p *jsonParser) value() (*yaml.Node, error) {
	if p.i >= len(p.data) {
		return nil, errors.New("unexpected end")
	}
	switch c := p.data[p.i]; {
	case c == '{' || c == '[':
		return p.collection(c)
	case c == '"':
		n := p.node(yaml.ScalarNode, "!!str")
		n.Style = yaml.DoubleQuotedStyle
		start := p.i
		for p.i++; p.i < len(p.data) && p.data[p.i] != '"'; p.i++ {
			if p.data[p.i] == '\\' {
				p.i++
			}
		}
		p.i++
		if p.i > len(p.data) {
			return nil, errors.New("unterminated string")
		}
		if err := json.Unmarshal(p.data[start:p.i], &n.Value); err != nil {
			return nil, err
		}
		p.spans[n] = Span{Start: start}.inline(p.i)
		return n, nil
	default:
		n := p.node(yaml.ScalarNode, "")
		start := p.i
		for p.i < len(p.data) && bytes.IndexByte([]byte(" \t\r\n,]}"), p.data[p.i]) < 0 {
			p.i++
		}
		n.Value = string(p.data[start:p.i])
		n.Tag = jsonLiteralTag(n.Value)
		if n.Tag == "" {
			return nil, fmt.Errorf("unexpected %q", n.Value)
		}
		p.spans[n] = Span{Start: start}.inline(p.i)
		return n, nil
	}
}

func (p *jsonParser) collection(open byte) (*yaml.Node, error) {
	n := p.node(yaml.MappingNode, "!!map")
	closer := byte('}')
	if open == '[' {
		n.Kind, n.Tag, closer = yaml.SequenceNode, "!!seq", ']'
	}
	n.Style = yaml.FlowStyle
	if p.depth++; p.depth > maxJSONDepth {
		return nil, errors.New("nested too deeply")
	}
	defer func() { p.depth-- }()
	p.i++
	p.space()
	if p.i < len(p.data) && p.data[p.i] == closer {
		p.i++
		return n, nil
	}
	for {
		if open == '{' {
			k, err := p.value()
			if err != nil {
				return nil, err
			}
			if k.Tag != "!!str" {
				return nil, errors.New("an object key is not a string")
			}
			p.space()
			if p.i >= len(p.data) || p.data[p.i] != ':' {
				return nil, errors.New("expected ':'")
			}
			p.i++
			p.space()
			n.Content = append(n.Content, k)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, v)
		p.space()
		if p.i >= len(p.data) {
			return nil, errors.New("unexpected end")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
			p.space()
		case closer:
			p.i++
			return n, nil
		default:
			return nil, fmt.Errorf("unexpected %q", p.data[p.i])
		}
	}
}

// jsonLiteralTag is the tag of a JSON literal (a number, true, false,
// null); "" when s is none.
func jsonLiteralTag(s string) string {
	switch {
	case s == "true" || s == "false":
		return "!!bool"
	case s == "null":
		return "!!null"
	case jsonNumberRe().MatchString(s):
		if bytes.ContainsAny([]byte(s), ".eE") {
			return "!!float"
		}
		return "!!int"
	}
	return ""
}
