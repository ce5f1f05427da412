package fieldedit

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// want is what a replaced scalar must read back as.
type want struct {
	value, tag string
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
		return fmt.Errorf("line %d: %s now has %d nodes instead of %d", b.Line, describe(a), len(b.Content), len(a.Content))
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], changed); err != nil {
			return err
		}
	}
	return nil
}
