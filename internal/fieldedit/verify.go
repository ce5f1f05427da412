package fieldedit

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// want is what a replaced scalar must read back as.
type want struct {
	value, tag string
	// free is a scalar whose text a regular expression edited: it may
	// read as any value, as long as it stays a scalar of a core type with
	// its anchor and explicit tag (see freeScalar).
	free bool
}

// sameDocs checks that the edited documents b read as the original ones a
// with only the scalars of changed replaced, each by its want.
func sameDocs(a, b []*yaml.Node, changed map[*yaml.Node]want) error {
	if len(a) != len(b) {
		return fmt.Errorf("it holds %d documents instead of %d", len(b), len(a))
	}
	for i := range a {
		if err := sameTree(a[i], b[i], changed); err != nil {
			return err
		}
	}
	return nil
}

// sameTree compares two trees node by node (without following aliases).
func sameTree(a, b *yaml.Node, changed map[*yaml.Node]want) error {
	if w, ok := changed[a]; ok {
		if w.free {
			return freeScalar(a, b)
		}
		switch {
		case b.Kind != yaml.ScalarNode:
			return fmt.Errorf("line %d: the new value reads as %s, not a scalar", b.Line, describe(b))
		case b.Value != w.value:
			return fmt.Errorf("line %d: the new value reads back as %s", b.Line, short(b.Value))
		case b.ShortTag() != w.tag:
			return fmt.Errorf("line %d: the new value reads back as %s instead of %s", b.Line, b.ShortTag(), w.tag)
		case b.Anchor != a.Anchor:
			return fmt.Errorf("line %d: the anchor of the value changed", b.Line)
		}
		return nil
	}
	switch {
	case a.Kind != b.Kind:
		return fmt.Errorf("line %d: %s became %s", b.Line, describe(a), describe(b))
	case a.ShortTag() != b.ShortTag() || a.Value != b.Value || a.Style != b.Style:
		return fmt.Errorf("line %d: a value that was not to change changed", b.Line)
	case a.Anchor != b.Anchor:
		return fmt.Errorf("line %d: an anchor changed", b.Line)
	case len(a.Content) != len(b.Content):
		return fmt.Errorf("line %d: %s", b.Line, grown(a, b))
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], changed); err != nil {
			return err
		}
	}
	return nil
}

// freeTags are the tags a plain scalar resolves to that hold a value; a
// scalar a regular expression edited may take any of them, but not
// !!merge (a << key merges a mapping in) or a tag written out.
var freeTags = map[string]bool{"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true, "!!timestamp": true}

// freeScalar checks the scalar b that a regular expression wrote in the
// place of a: it may read as another value, not as a collection, an
// alias, another anchor or another explicit tag.
func freeScalar(a, b *yaml.Node) error {
	tagged := a.Style&yaml.TaggedStyle != 0
	switch {
	case b.Kind != yaml.ScalarNode:
		return fmt.Errorf("line %d: %s became %s", b.Line, describe(a), describe(b))
	case b.Anchor != a.Anchor:
		return fmt.Errorf("line %d: the anchor of %s changed", b.Line, describe(a))
	case tagged != (b.Style&yaml.TaggedStyle != 0) || tagged && a.Tag != b.Tag:
		return fmt.Errorf("line %d: the tag of %s changed", b.Line, describe(a))
	case !tagged && !freeTags[b.ShortTag()]:
		return fmt.Errorf("line %d: %s became %s", b.Line, describe(a), describe(b))
	}
	return nil
}

// grown says how the collection a became b, which holds more or fewer
// nodes.
func grown(a, b *yaml.Node) string {
	if a.Kind != yaml.MappingNode {
		return fmt.Sprintf("%s now has %s", describe(a), plural(len(b.Content), "item"))
	}
	if added := newKeys(a, b); len(added) > 0 {
		return fmt.Sprintf("%s under %s: %s", plural(len(added), "new key"), describe(a), list(added))
	}
	if gone := newKeys(b, a); len(gone) > 0 {
		return fmt.Sprintf("%s lost %s: %s", describe(a), plural(len(gone), "key"), list(gone))
	}
	return fmt.Sprintf("%s now has %s", describe(a), plural(len(b.Content)/2, "key"))
}

// newKeys lists the keys of mapping b that mapping a does not hold.
func newKeys(a, b *yaml.Node) []string {
	had := map[string]bool{}
	for k := 0; k+1 < len(a.Content); k += 2 {
		had[a.Content[k].Value] = true
	}
	var out []string
	for k := 0; k+1 < len(b.Content); k += 2 {
		if v := b.Content[k].Value; !had[v] {
			out = append(out, pathKey(v))
		}
	}
	return out
}
