package render

import (
	"bytes"
	"strings"

	"gopkg.in/yaml.v3"
)

// kdoc is a kustomization file parsed to locate its entries (for messages)
// and to rewrite them: kustomize decodes it as JSON, which matches field
// names case-insensitively and lets the last of two spellings win, and
// kdoc finds fields the same way. A file that is not one YAML mapping
// gives no lines and cannot be rewritten.
type kdoc struct {
	root    *yaml.Node
	changed bool
}

func parseKdoc(data []byte) *kdoc {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) != 1 {
		return &kdoc{}
	}
	m := deref(doc.Content[0])
	if m.Kind != yaml.MappingNode {
		return &kdoc{}
	}
	return &kdoc{root: m}
}

// deref follows an alias to its anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// fields returns the (key, value) pairs of the top-level field, in file
// order.
func (d *kdoc) fields(field string) [][2]*yaml.Node {
	if d.root == nil {
		return nil
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		if k := d.root.Content[i]; strings.EqualFold(k.Value, field) {
			out = append(out, [2]*yaml.Node{k, d.root.Content[i+1]})
		}
	}
	return out
}

// keyLine is the line of field (the one kustomize reads); 0 when absent.
func (d *kdoc) keyLine(field string) int {
	fs := d.fields(field)
	if len(fs) == 0 {
		return 0
	}
	return fs[len(fs)-1][0].Line
}

// line is the line of value (an item, or a field's value, as
// configMapGenerator's files have it, "key=value" too) in the top-level
// field ("patches.path" looks in patches); else of field.
func (d *kdoc) line(field, value string) int {
	top, _, _ := strings.Cut(field, ".")
	fs := d.fields(top)
	for i := len(fs) - 1; i >= 0; i-- {
		if n := findScalar(fs[i][1], value, 0); n != nil {
			return n.Line
		}
	}
	return d.keyLine(top)
}

func findScalar(n *yaml.Node, value string, depth int) *yaml.Node {
	if n = deref(n); n == nil || depth > 8 {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		if n.Value == value || strings.HasSuffix(n.Value, "="+value) {
			return n
		}
		return nil
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			continue // keys
		}
		if f := findScalar(c, value, depth+1); f != nil {
			return f
		}
	}
	return nil
}

// itemLine is the line of item i of the list field, else of field.
func (d *kdoc) itemLine(field string, i int) int {
	fs := d.fields(field)
	if len(fs) > 0 {
		if seq := deref(fs[len(fs)-1][1]); seq != nil && seq.Kind == yaml.SequenceNode && i < len(seq.Content) {
			return deref(seq.Content[i]).Line
		}
	}
	return d.keyLine(field)
}

// replace rewrites every item old of the list field to repl, and reports
// whether there was one.
func (d *kdoc) replace(field, old, repl string) bool {
	done := false
	for _, f := range d.fields(field) {
		seq := deref(f[1])
		if seq == nil || seq.Kind != yaml.SequenceNode {
			continue
		}
		for _, it := range seq.Content {
			if it = deref(it); it.Kind == yaml.ScalarNode && it.Value == old {
				it.Value, it.Tag, it.Style = repl, "!!str", yaml.DoubleQuotedStyle
				done = true
			}
		}
	}
	d.changed = d.changed || done
	return done
}

// remove deletes the top-level field.
func (d *kdoc) remove(field string) {
	if d.root == nil {
		return
	}
	kept := d.root.Content[:0]
	for i := 0; i+1 < len(d.root.Content); i += 2 {
		if strings.EqualFold(d.root.Content[i].Value, field) {
			d.changed = true
			continue
		}
		kept = append(kept, d.root.Content[i], d.root.Content[i+1])
	}
	d.root.Content = kept
}

// prepend puts value first in the list field (the one kustomize reads),
// creating it when absent.
func (d *kdoc) prepend(field, value string) {
	item := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: yaml.DoubleQuotedStyle}
	d.changed = true
	if fs := d.fields(field); len(fs) > 0 {
		f := fs[len(fs)-1]
		// A copy: an anchored list may be used elsewhere too.
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{item}}
		if old := deref(f[1]); old != nil && old.Kind == yaml.SequenceNode {
			seq.Content = append(seq.Content, old.Content...)
		}
		for i := 0; i+1 < len(d.root.Content); i += 2 {
			if d.root.Content[i] == f[0] {
				d.root.Content[i+1] = seq
			}
		}
		return
	}
	d.root.Content = append(d.root.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: field},
		&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{item}})
}

// bytes is the rewritten file.
func (d *kdoc) bytes() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(d.root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
