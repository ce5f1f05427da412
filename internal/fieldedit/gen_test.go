package fieldedit

import (
	"strings"
)

// yamlGen derives a YAML stream from fuzz bytes: block and flow
// collections, indentless sequences, every scalar style, comments, tags,
// anchors, CRLF, a byte order mark, several documents. The fuzzer mutates
// the choices; the documents stay valid YAML, so every input exercises the
// editor rather than the parser's error path.
type yamlGen struct {
	in  []byte
	i   int
	b   strings.Builder
	nl  string
	key int
}

func genYAML(in []byte) []byte {
	g := &yamlGen{in: in, nl: "\n"}
	flags := g.next()
	if flags&1 != 0 {
		g.nl = "\r\n"
	}
	if flags&2 != 0 {
		g.b.WriteString("\ufeff")
	}
	docs := 1 + int(flags>>2)%3
	for d := range docs {
		if d > 0 || flags&32 != 0 {
			g.b.WriteString("---" + g.nl)
		}
		g.comment(0)
		if g.next()%4 == 0 {
			g.seq(0, 0)
		} else {
			g.mapping(0, 0)
		}
	}
	return []byte(g.b.String())
}

func (g *yamlGen) next() byte {
	if g.i >= len(g.in) {
		return 0
	}
	c := g.in[g.i]
	g.i++
	return c
}

func (g *yamlGen) pick(options []string) string { return options[int(g.next())%len(options)] }

func (g *yamlGen) pad(n int) { g.b.WriteString(strings.Repeat(" ", n)) }

// comment writes a comment line now and then.
func (g *yamlGen) comment(indent int) {
	if g.next()%5 == 0 {
		g.pad(indent)
		g.b.WriteString(g.pick([]string{"# a comment", "#\ttabbed", "# ünïcode: [x] {y} #z"}) + g.nl)
	}
}

var genKeys = []string{"image", "tag", "name", "a.b", "it's", "spaced key", `"quoted"`, "'single'", "ключ", "x", "y", "z", "value"}

func (g *yamlGen) keyText() string {
	g.key++
	k, suffix := g.pick(genKeys), strings.Repeat("_", g.key%3)+string(rune('a'+g.key%26))
	if q := k[0]; q == '"' || q == '\'' {
		return k[:len(k)-1] + suffix + string(q)
	}
	return k + suffix
}

var plainScalars = []string{"v1.2.3", "gcr.io/pipecd/web:v0.1.0", "3", "-4", "1.5", "true", "null", "~", "hello world", "x:y",
	"héllo", "a#b", "2024-01-02", "0x1F", "", "yes", "plain.value"}

// scalar writes a scalar for a value in flow or block context, after the
// indicator (': ' or '- ') when inline; block scalars go on the next lines
// at indent.
func (g *yamlGen) scalar(flow bool, indent int) {
	props := ""
	switch g.next() % 9 {
	case 0:
		props = "!!str "
	case 1:
		props = "&anchor" + string(rune('a'+g.key%26)) + " "
	}
	kind := g.next() % 6
	if flow && kind >= 4 {
		kind = 0
	}
	switch kind {
	case 0, 1:
		s := g.pick(plainScalars)
		if flow && strings.ContainsAny(s, ",[]{}#") {
			s = "v"
		}
		if s == "" && props != "" {
			props = ""
		}
		g.b.WriteString(props + s)
	case 2:
		g.b.WriteString(props + "'" + strings.ReplaceAll(g.pick([]string{"it's", "a: b", "", " spaced ", "#x"}), "'", "''") + "'")
	case 3:
		options := []string{`"double \" \\ \t \u00e9"`, `"a: b # c"`, `""`, `"multi` + g.nl + strings.Repeat(" ", indent+1) + `line"`}
		if flow {
			options = options[:3]
		}
		g.b.WriteString(props + g.pick(options))
	case 4:
		// A multi-line plain scalar.
		g.b.WriteString(props + "first" + g.nl + strings.Repeat(" ", indent+1) + "second")
	default:
		g.b.WriteString(props + g.pick([]string{"|", "|-", ">", ">-", "|+", "|2"}))
		if g.next()%3 == 0 {
			g.b.WriteString("  # header comment")
		}
		for l := range 1 + int(g.next())%3 {
			g.b.WriteString(g.nl)
			if l == 1 && g.next()%3 == 0 {
				g.b.WriteString(g.nl)
			}
			g.pad(indent + 2)
			lines := []string{"line", "more: text", "# not a comment", "  indented"}
			if l == 0 {
				lines = lines[:3]
			}
			g.b.WriteString(g.pick(lines))
		}
	}
}

func (g *yamlGen) flowNode(depth int) {
	switch c := g.next() % 4; {
	case c == 0 && depth < 3:
		g.b.WriteString("[")
		for i := range 1 + int(g.next())%3 {
			if i > 0 {
				g.b.WriteString(", ")
			}
			g.flowNode(depth + 1)
		}
		g.b.WriteString("]")
	case c == 1 && depth < 3:
		g.b.WriteString("{")
		for i := range 1 + int(g.next())%3 {
			if i > 0 {
				g.b.WriteString(", ")
			}
			g.b.WriteString(g.keyText() + ": ")
			g.flowNode(depth + 1)
		}
		g.b.WriteString("}")
	default:
		g.scalar(true, 0)
	}
}

// value writes what follows "key:" or "- " at indent (the collection's).
func (g *yamlGen) value(indent, depth int, inSeq bool) {
	switch c := g.next() % 7; {
	case c == 0 && depth < 4:
		g.b.WriteString(g.nl)
		g.mapping(indent+2, depth+1)
	case c == 1 && depth < 4:
		g.b.WriteString(g.nl)
		child := indent + 2
		if !inSeq && g.next()%2 == 0 {
			child = indent // an indentless sequence
		}
		g.seq(child, depth+1)
	case c == 2:
		g.b.WriteString(" ")
		g.flowNode(depth)
		g.b.WriteString(g.nl)
	default:
		g.b.WriteString(" ")
		g.scalar(false, indent)
		if g.next()%4 == 0 {
			g.b.WriteString(" # line comment")
		}
		g.b.WriteString(g.nl)
	}
}

func (g *yamlGen) mapping(indent, depth int) {
	for range 1 + int(g.next())%4 {
		g.comment(indent)
		g.pad(indent)
		g.b.WriteString(g.keyText() + ":")
		g.value(indent, depth, false)
	}
}

func (g *yamlGen) seq(indent, depth int) {
	for range 1 + int(g.next())%3 {
		g.comment(indent)
		g.pad(indent)
		g.b.WriteString("-")
		if g.next()%3 == 0 && depth < 4 {
			// A compact mapping: "- k: v" and its keys below at indent+2.
			g.b.WriteString(" " + g.keyText() + ":")
			g.value(indent+2, depth+1, false)
			g.pad(indent + 2)
			g.b.WriteString(g.keyText() + ":")
			g.value(indent+2, depth+1, false)
			continue
		}
		g.value(indent, depth, true)
	}
}
