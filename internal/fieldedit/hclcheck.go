package fieldedit

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// checkHCL checks that out parses as HCL and reads as the original file
// before (whose syntax tree is body) with only the expressions that
// started at the offsets of kinds replaced, each by a literal of its kind
// reading as value.
func checkHCL(path string, before, out []byte, body *hclsyntax.Body, segs []string, kinds map[int]hclKind, value string) error {
	after, err := parseHCL(path, out, "the edited file")
	if err != nil {
		return err
	}
	targets := map[*hclsyntax.Attribute]bool{}
	olds := (&hclFinder{}).find(body, segs, "", 0)
	news := (&hclFinder{}).find(after, segs, "", 0)
	if len(olds) != len(news) {
		return fmt.Errorf("the path leads to %d attributes instead of %d", len(news), len(olds))
	}
	for i, a := range olds {
		kind, ok := kinds[a.Expr.Range().Start.Byte]
		if !ok {
			continue
		}
		targets[a], targets[news[i]] = true, true
		e := news[i].Expr
		r := e.Range()
		got, gotKind := hclStatic(e, string(out[r.Start.Byte:r.End.Byte]))
		if gotKind != kind || got != value {
			return fmt.Errorf("line %d: the new expression does not read back as the value", r.Start.Line)
		}
	}
	a, b := hclShape(before, body, targets), hclShape(out, after, targets)
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Errorf("%s became %s", a[i], b[i])
		}
	}
	if len(a) != len(b) {
		return fmt.Errorf("it holds %d attributes and blocks instead of %d", len(b), len(a))
	}
	return nil
}

// hclShape lists the blocks and attributes of body in file order, with
// the text of each attribute's expression but the targets'.
func hclShape(src []byte, body *hclsyntax.Body, targets map[*hclsyntax.Attribute]bool) []string {
	type item struct {
		at   int
		text []string
	}
	var items []item
	for name, a := range body.Attributes {
		r := a.Expr.Range()
		text := "attribute " + name + " = "
		if targets[a] {
			text += "(the new value)"
		} else {
			text += string(src[r.Start.Byte:r.End.Byte])
		}
		items = append(items, item{a.SrcRange.Start.Byte, []string{text}})
	}
	for _, b := range body.Blocks {
		inner := append([]string{blockName(b) + " {"}, hclShape(src, b.Body, targets)...)
		items = append(items, item{b.TypeRange.Start.Byte, append(inner, "}")})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].at < items[j].at })
	var out []string
	for _, it := range items {
		out = append(out, it.text...)
	}
	return out
}
