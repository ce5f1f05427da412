package fieldedit

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// HCL replaces the attributes path leads to in the HCL (Terraform) file
// data by value (hclField). The path is dotted segments with an optional
// leading "$.": a block's type, its labels, and so on down to the
// attribute: image_tag (a top-level attribute, as in a .tfvars file),
// locals.image, module.web.image_tag,
// resource.aws_lambda_function.fn.image_uri, variable.image.default. Of
// several blocks the path names (two locals blocks), the ones holding the
// attribute are edited. The new expression is a string literal, or a
// number or boolean literal when it replaces one and value is one.
func HCL(data []byte, path, value string) (Result, error) {
	p, err := start(path, data, value, true)
	if err != nil {
		return Result{}, err
	}
	segs, err := hclSegments(p)
	if err != nil {
		return Result{}, err
	}
	body, err := parseHCL(path, data, "the file")
	if err != nil {
		return Result{}, err
	}
	f := &hclFinder{path: path}
	attrs := f.find(body, segs, "the file", 0)
	if len(attrs) == 0 {
		return Result{}, notFound(path, f.best.line, "%s", f.best.msg)
	}
	res := Result{Out: data}
	var repls []repl
	kinds := map[int]hclKind{} // of each new expression, by its offset in data
	for _, a := range attrs {
		r := a.Expr.Range()
		old := string(data[r.Start.Byte:r.End.Byte])
		cur, kind := hclStatic(a.Expr, old)
		if kind != hclOther && cur == value {
			continue
		}
		text, newKind := hclLiteral(kind, value)
		kinds[r.Start.Byte] = newKind
		repls = append(repls, repl{r.Start.Byte, r.End.Byte, text})
		if kind != hclOther {
			old = cur
		}
		res.Old = append(res.Old, old)
		res.Lines = append(res.Lines, r.Start.Line)
	}
	return apply(path, data, value, res, repls, func(out []byte) error {
		return checkHCL(path, data, out, body, segs, kinds, value)
	})
}

// hclSegments is the path's steps as names: HCL paths have no indexes.
func hclSegments(p *path) ([]string, error) {
	segs := make([]string, 0, len(p.steps))
	for _, s := range p.steps {
		if s.kind != stepKey {
			return nil, errorf(p.text, 0, "an HCL path is block types, labels and an attribute separated by dots (module.web.image_tag); %s is not supported", s)
		}
		segs = append(segs, s.key)
	}
	if len(segs) == 0 {
		return nil, errorf(p.text, 0, "the path names no attribute; write one such as locals.image_tag")
	}
	return segs, nil
}

func parseHCL(path string, data []byte, what string) (*hclsyntax.Body, error) {
	f, diags := hclsyntax.ParseConfig(data, "file.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		line, text := diagText(diags)
		return nil, errorf(path, line, "%s is not valid HCL: %s", what, text)
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil, errorf(path, 0, "%s cannot be read as HCL native syntax", what)
	}
	return body, nil
}

// diagText is the line and the text of the first error of diags.
func diagText(diags hcl.Diagnostics) (int, string) {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if d.Subject != nil {
			return d.Subject.Start.Line, fmt.Sprintf("line %d: %s: %s", d.Subject.Start.Line, d.Summary, d.Detail)
		}
		return 0, d.Summary + ": " + d.Detail
	}
	return 0, diags.Error()
}

// hclKind is what an attribute's expression is.
type hclKind int

const (
	hclOther  hclKind = iota // not a literal: an interpolation, a reference...
	hclString                // a string without interpolations
	hclNumber
	hclBool
)

var hclNumberRe = lazyre.New(`^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// hclStatic reads a literal expression (src is its text): its value as a
// string and its kind; hclOther for other expressions.
func hclStatic(e hclsyntax.Expression, src string) (string, hclKind) {
	if _, ok := e.(*hclsyntax.TemplateExpr); !ok {
		if _, lit := e.(*hclsyntax.LiteralValueExpr); !lit && !hclNumberRe().MatchString(src) {
			return "", hclOther
		}
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return "", hclOther
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), hclString
	case cty.Number:
		return src, hclNumber
	case cty.Bool:
		return src, hclBool
	}
	return "", hclOther
}

// hclLiteral writes value in place of an expression of kind.
func hclLiteral(kind hclKind, value string) (string, hclKind) {
	switch {
	case kind == hclNumber && hclNumberRe().MatchString(value):
		return value, hclNumber
	case kind == hclBool && (value == "true" || value == "false"):
		return value, hclBool
	}
	return string(hclwrite.TokensForValue(cty.StringVal(value)).Bytes()), hclString
}

// hclFinder finds the attributes a path leads to, keeping the miss that
// got furthest.
type hclFinder struct {
	path string
	best *miss
}

func (f *hclFinder) miss(depth, line int, format string, args ...any) {
	if f.best == nil || depth > f.best.depth {
		f.best = &miss{depth: depth, line: line, msg: fmt.Sprintf(format, args...)}
	}
}

// find returns the attributes segs names in body (where names it), in
// file order.
func (f *hclFinder) find(body *hclsyntax.Body, segs []string, where string, depth int) []*hclsyntax.Attribute {
	name := segs[0]
	line := body.SrcRange.Start.Line
	if len(segs) == 1 {
		if a, ok := body.Attributes[name]; ok {
			return []*hclsyntax.Attribute{a}
		}
		for _, b := range body.Blocks {
			if b.Type == name {
				f.miss(depth, b.TypeRange.Start.Line, "%s is a block in %s, not an attribute: continue the path to an attribute inside it", name, where)
				return nil
			}
		}
		f.miss(depth, line, "%s has no attribute %q (%s)", where, name, attributesOf(body))
		return nil
	}
	var out []*hclsyntax.Attribute
	var kinds, attrs []string
	matched := 0
	for _, b := range body.Blocks {
		if b.Type != name {
			continue
		}
		n := len(b.Labels)
		kinds = append(kinds, blockName(b))
		if len(segs) <= 1+n || !equal(segs[1:1+n], b.Labels) {
			continue
		}
		matched++
		attrs = append(attrs, strings.TrimPrefix(attributesOf(b.Body), "attributes: "))
		out = append(out, f.find(b.Body, segs[1+n:], blockName(b), depth+1+n)...)
	}
	if len(out) > 0 || len(kinds) > 0 {
		switch {
		case len(out) > 0:
		case matched == 0:
			f.miss(depth+1, line, "%s has no %s block matching the path (%s)", where, name, list(kinds))
		case matched > 1 && len(segs) == 2:
			f.best = &miss{depth: depth + 2, line: line, msg: fmt.Sprintf("none of the %d %s blocks of %s has an attribute %q (attributes: %s)", matched, name, where, segs[1], strings.Join(attrs, "; "))}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].SrcRange.Start.Byte < out[j].SrcRange.Start.Byte })
		return out
	}
	if a, ok := body.Attributes[name]; ok {
		f.miss(depth, a.SrcRange.Start.Line, "%s is an attribute of %s, not a block: the path cannot go into its value", name, where)
		return nil
	}
	f.miss(depth, line, "%s has no %q block (%s)", where, name, blocksOf(body))
	return nil
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// blockName is how messages name a block: module "web".
func blockName(b *hclsyntax.Block) string {
	s := b.Type
	for _, l := range b.Labels {
		s += fmt.Sprintf(" %q", l)
	}
	return s
}

func attributesOf(body *hclsyntax.Body) string {
	var names []string
	for n := range body.Attributes {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "it has no attributes"
	}
	sort.Strings(names)
	return "attributes: " + list(names)
}

func blocksOf(body *hclsyntax.Body) string {
	var names []string
	for _, b := range body.Blocks {
		names = append(names, blockName(b))
	}
	if len(names) == 0 {
		return "it has no blocks"
	}
	return "blocks: " + list(names)
}
