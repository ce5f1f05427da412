package fieldedit

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"gopkg.in/yaml.v3"
)

// sameStructure checks that out, data with repls applied, reads as data
// with only the scalars holding replaced text changed, when data is YAML
// (with a mapping or a sequence), JSON or HCL; text that is none of these
// has no structure to keep. It says why when it does not.
func sameStructure(data, out []byte, repls []repl) error {
	if err := sameYAML(data, out, repls); err != nil {
		return fmt.Errorf("the value would change the file's YAML structure (%v)", err)
	}
	if err := sameJSON(data, out, repls); err != nil {
		return fmt.Errorf("the value would change the file's JSON structure (%v)", err)
	}
	if err := sameHCL(data, out, repls); err != nil {
		return fmt.Errorf("the value would change the file's HCL structure (%v)", err)
	}
	return nil
}

// sameYAML compares the documents of data and out when data is YAML with
// a collection: a scalar may change only if replaced text lies between
// its start and the start of the next node (its properties, its text and
// what follows it up to the next node), and stays a scalar (freeScalar).
func sameYAML(data, out []byte, repls []repl) error {
	docs, err := decodeYAML("", data, "the file")
	if err != nil || !hasCollection(docs) {
		return nil
	}
	after, err := decodeYAML("", out, "the edited file")
	if err != nil {
		return err
	}
	pos := &cursor{src: NewSource(data)}
	type at struct {
		n   *yaml.Node
		off int
	}
	var nodes []at
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind != yaml.DocumentNode {
			off, ok := pos.offset(n.Line, n.Column)
			if !ok {
				off = len(data)
			}
			nodes = append(nodes, at{n, off})
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, d := range docs {
		walk(d)
	}
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].off < nodes[j].off })
	free := map[*yaml.Node]want{}
	for i, a := range nodes {
		if a.n.Kind != yaml.ScalarNode {
			continue
		}
		end := len(data)
		for _, b := range nodes[i+1:] {
			if b.off > a.off {
				end = b.off
				break
			}
		}
		if touches(repls, a.off, end) {
			free[a.n] = want{free: true}
		}
	}
	return sameDocs(docs, after, free)
}

// cursor converts yaml.v3 positions to byte offsets (as Source.Offset),
// starting from the last one when on its line: the nodes of a document
// come in file order, and a file on one line (minified JSON) would take
// time quadratic in its length from the start of the line.
type cursor struct {
	src            *Source
	line, col, off int
}

func (c *cursor) offset(line, column int) (int, bool) {
	if line != c.line || column < c.col || c.col < 1 {
		off, ok := c.src.Offset(line, 1)
		if !ok || column < 1 {
			return 0, false
		}
		c.line, c.col, c.off = line, 1, off
	}
	data := c.src.data
	for ; c.col < column; c.col++ {
		if c.off >= len(data) || breakLen(data, c.off) > 0 {
			return 0, false
		}
		_, n := utf8.DecodeRune(data[c.off:])
		c.off += n
	}
	return c.off, true
}

// hasCollection reports whether a document of docs is a mapping or a
// sequence: text that YAML reads as one scalar (a Dockerfile, a version
// file) is not YAML to keep the structure of.
func hasCollection(docs []*yaml.Node) bool {
	for _, d := range docs {
		if len(d.Content) == 1 && (d.Content[0].Kind == yaml.MappingNode || d.Content[0].Kind == yaml.SequenceNode) {
			return true
		}
	}
	return false
}

// sameJSON compares data and out as JSON when data is JSON (yaml.v3
// refuses some of it): only the strings, numbers and literals holding
// replaced text (or text inserted right after them) may change.
func sameJSON(data, out []byte, repls []repl) error {
	before, err := parseJSON("", data, "the file")
	if err != nil {
		return nil
	}
	after, err := parseJSON("", out, "the edited file")
	if err != nil {
		return err
	}
	free := map[*yaml.Node]want{}
	for n, sp := range before.spans {
		if touches(repls, sp.Start, sp.End+1) {
			free[n] = want{free: true}
		}
	}
	return sameDocs([]*yaml.Node{before.doc}, []*yaml.Node{after.doc}, free)
}

// sameHCL compares the tokens of data and out when data is HCL: the
// same tokens of the same types, and those holding no replaced text
// byte for byte. A value that adds a quote, a comma, an interpolation
// (${...}) or ends a comment changes the tokens.
func sameHCL(data, out []byte, repls []repl) error {
	if _, diags := hclsyntax.ParseConfig(data, "file.hcl", hcl.InitialPos); diags.HasErrors() {
		return nil
	}
	if _, diags := hclsyntax.ParseConfig(out, "file.hcl", hcl.InitialPos); diags.HasErrors() {
		_, text := diagText(diags)
		return fmt.Errorf("the edited file is not valid HCL: %s", text)
	}
	a, _ := hclsyntax.LexConfig(data, "file.hcl", hcl.InitialPos)
	b, _ := hclsyntax.LexConfig(out, "file.hcl", hcl.InitialPos)
	for i := range min(len(a), len(b)) {
		ta, tb := a[i], b[i]
		r := ta.Range
		if ta.Type != tb.Type {
			return fmt.Errorf("line %d: the edited file has %s where the original has %s", tb.Range.Start.Line, tokenName(tb), tokenName(ta))
		}
		if !bytes.Equal(ta.Bytes, tb.Bytes) && !touches(repls, r.Start.Byte, r.End.Byte+1) {
			return fmt.Errorf("line %d: %s that was not to change changed", tb.Range.Start.Line, tokenName(ta))
		}
	}
	if len(a) != len(b) {
		return fmt.Errorf("it holds %d tokens instead of %d", len(b), len(a))
	}
	return nil
}

// tokenName names an HCL token for a message.
func tokenName(t hclsyntax.Token) string {
	switch t.Type {
	case hclsyntax.TokenOQuote:
		return "an opening quote"
	case hclsyntax.TokenCQuote:
		return "a closing quote"
	case hclsyntax.TokenQuotedLit:
		return "quoted text"
	case hclsyntax.TokenStringLit:
		return "heredoc text"
	case hclsyntax.TokenTemplateInterp:
		return "an interpolation (${)"
	case hclsyntax.TokenTemplateControl:
		return "a template directive (%{)"
	case hclsyntax.TokenIdent:
		return "a name"
	case hclsyntax.TokenNumberLit:
		return "a number"
	case hclsyntax.TokenComment:
		return "a comment"
	case hclsyntax.TokenNewline:
		return "a line break"
	case hclsyntax.TokenEOF:
		return "the end of the file"
	}
	return short(string(t.Bytes))
}

// touches reports whether a replacement of repls (sorted, not
// overlapping) changes text in [lo, hi), or inserts text there.
func touches(repls []repl, lo, hi int) bool {
	j := sort.Search(len(repls), func(j int) bool { return repls[j].end > lo || repls[j].start >= lo })
	return j < len(repls) && repls[j].start < hi
}
