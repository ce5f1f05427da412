package fieldedit

import (
	"fmt"
	"sort"

	"gopkg.in/yaml.v3"
)

// place is a node a path leads to.
type place struct {
	node *yaml.Node
	// label names it in messages: containers[0], image ("" for the root).
	label string
	// parent is the indentation of the block collection holding it, -1
	// for a document's root (see Source.Locate).
	parent int
	// flow says it stands inside a flow collection ({...} or [...]).
	flow bool
	// anchored holds the anchored nodes from the root down to it.
	anchored []*yaml.Node
}

func (p place) name() string {
	if p.label == "" {
		return "the document"
	}
	return p.label
}

// miss is why a branch of the path matched nothing, after depth steps.
type miss struct {
	depth int
	line  int
	msg   string
}

// finder applies a path to the documents of a file.
type finder struct {
	path *path
	best *miss
	doc  int // the document being searched (0-based)
	docs int
}

func (f *finder) miss(depth, line int, format string, args ...any) {
	if f.best != nil && f.best.depth >= depth {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if f.docs > 1 {
		msg += fmt.Sprintf(" (in document %d of %d)", f.doc+1, f.docs)
	}
	f.best = &miss{depth: depth, line: line, msg: msg}
}

// find returns the scalars path leads to in docs, in file order. A path
// that leads nowhere is an ErrNotFound *Error naming the step that failed
// (in the document that matched the most of it); one that leads to a
// collection, through an alias or into an anchored value that an alias
// repeats is an *Error.
func find(p *path, docs []*yaml.Node) ([]place, error) {
	f := &finder{path: p, docs: len(docs)}
	var out []place
	for d, doc := range docs {
		f.doc = d
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			f.miss(0, doc.Line, "the document is empty")
			continue
		}
		root := doc.Content[0]
		places := []place{{node: root, parent: -1, flow: root.Style&yaml.FlowStyle != 0, anchored: anchoredPath(nil, root)}}
		for i, s := range p.steps {
			var next []place
			for _, pl := range places {
				got, err := f.apply(i, s, pl)
				if err != nil {
					return nil, err
				}
				next = append(next, got...)
			}
			places = unique(next)
		}
		aliased := aliasedAnchors(doc)
		for _, pl := range places {
			if err := f.replaceable(pl, aliased); err != nil {
				return nil, err
			}
		}
		out = append(out, places...)
	}
	if len(out) == 0 {
		if f.best == nil {
			return nil, notFound(p.text, 0, "nothing matches (the file holds no document)")
		}
		return nil, notFound(p.text, f.best.line, "%s", f.best.msg)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].node, out[j].node
		return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
	})
	return out, nil
}

// unique drops the places that lead to a node already listed (..a..b
// finds b once for each a above it).
func unique(places []place) []place {
	seen := make(map[*yaml.Node]bool, len(places))
	out := places[:0]
	for _, pl := range places {
		if !seen[pl.node] {
			seen[pl.node] = true
			out = append(out, pl)
		}
	}
	return out
}

// apply takes step i from pl.
func (f *finder) apply(i int, s step, pl place) ([]place, error) {
	n := pl.node
	if n.Kind == yaml.AliasNode {
		return nil, f.throughAlias(pl)
	}
	switch s.kind {
	case stepKey:
		if n.Kind != yaml.MappingNode {
			f.miss(i, n.Line, "%s is %s, not a mapping: %s needs one", pl.name(), describe(n), s)
			return nil, nil
		}
		var out []place
		for k := 0; k+1 < len(n.Content); k += 2 {
			if key := n.Content[k]; key.Kind == yaml.ScalarNode && key.Value == s.key {
				out = append(out, pl.child(n.Content[k+1], s.key, n.Column-1))
			}
		}
		if len(out) == 0 {
			f.miss(i, n.Line, "%s has no key %q (%s)%s", pl.name(), s.key, keysOf(n), mergeHint(n))
		}
		return out, nil
	case stepIndex, stepAll:
		if n.Kind != yaml.SequenceNode {
			f.miss(i, n.Line, "%s is %s, not a sequence: %s needs one", pl.name(), describe(n), s)
			return nil, nil
		}
		if s.kind == stepIndex {
			if s.index >= len(n.Content) {
				f.miss(i, n.Line, "%s has %s (index %d out of range)", pl.name(), plural(len(n.Content), "item"), s.index)
				return nil, nil
			}
			return []place{pl.item(n, s.index)}, nil
		}
		if len(n.Content) == 0 {
			f.miss(i, n.Line, "%s is an empty sequence: [*] matches nothing", pl.name())
		}
		out := make([]place, 0, len(n.Content))
		for k := range n.Content {
			out = append(out, pl.item(n, k))
		}
		return out, nil
	}
	var out []place
	descend(pl, s.key, &out)
	if len(out) == 0 {
		f.miss(i, n.Line, "no key %q anywhere in %s", s.key, pl.name())
	}
	return out, nil
}

// descend collects the values of key at any depth in pl, in document
// order; it does not follow aliases.
func descend(pl place, key string, out *[]place) {
	n := pl.node
	switch n.Kind {
	case yaml.MappingNode:
		for k := 0; k+1 < len(n.Content); k += 2 {
			kn := n.Content[k]
			c := pl.child(n.Content[k+1], kn.Value, n.Column-1)
			if kn.Kind == yaml.ScalarNode && kn.Value == key {
				*out = append(*out, c)
			}
			descend(c, key, out)
		}
	case yaml.SequenceNode:
		for k := range n.Content {
			descend(pl.item(n, k), key, out)
		}
	}
}

func (pl place) child(v *yaml.Node, label string, parent int) place {
	return place{node: v, label: label, parent: parent, flow: pl.flow || v.Style&yaml.FlowStyle != 0, anchored: anchoredPath(pl.anchored, v)}
}

func (pl place) item(seq *yaml.Node, i int) place {
	label := pl.label
	if label == "" {
		label = "$"
	}
	return pl.child(seq.Content[i], fmt.Sprintf("%s[%d]", label, i), seq.Column-1)
}

func anchoredPath(up []*yaml.Node, n *yaml.Node) []*yaml.Node {
	if n.Anchor == "" {
		return up
	}
	return append(up[:len(up):len(up)], n)
}

// replaceable refuses a place that is not a scalar, an alias, or inside
// an anchored value that an alias repeats elsewhere.
func (f *finder) replaceable(pl place, aliased map[*yaml.Node]*yaml.Node) error {
	n := pl.node
	switch n.Kind {
	case yaml.AliasNode:
		return f.throughAlias(pl)
	case yaml.MappingNode:
		hint := ""
		if len(n.Content) > 0 {
			hint = ", e.g. " + f.path.text + step{kind: stepKey, key: n.Content[0].Value}.String()
		}
		return errorf(f.path.text, n.Line, "%s is %s, not a scalar; only a scalar value can be replaced: extend the path to one%s", pl.name(), describe(n), hint)
	case yaml.SequenceNode:
		return errorf(f.path.text, n.Line, "%s is %s, not a scalar; only a scalar value can be replaced: extend the path to one, e.g. %s[0]", pl.name(), describe(n), f.path.text)
	}
	for _, a := range pl.anchored {
		if al := aliased[a]; al != nil {
			what := "is the anchored value"
			if a != n {
				what = "is inside the anchored value"
			}
			return errorf(f.path.text, n.Line, "%s %s &%s (line %d), which the alias *%s repeats at line %d: changing it would change that place too; write the value out instead of the alias, or edit the file by hand",
				pl.name(), what, a.Anchor, a.Line, al.Value, al.Line)
		}
	}
	return nil
}

func (f *finder) throughAlias(pl place) error {
	n := pl.node
	at := ""
	if n.Alias != nil {
		at = fmt.Sprintf(" of the value anchored at line %d", n.Alias.Line)
	}
	return errorf(f.path.text, n.Line, "%s is an alias (*%s)%s; an edit cannot go through an alias, since it would change every place using the anchor: write the value out here, or edit the anchored value by hand", pl.name(), n.Value, at)
}

// aliasedAnchors maps each anchored node of doc that an alias repeats to
// the first such alias.
func aliasedAnchors(doc *yaml.Node) map[*yaml.Node]*yaml.Node {
	out := map[*yaml.Node]*yaml.Node{}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			if out[n.Alias] == nil {
				out[n.Alias] = n
			}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
	return out
}
