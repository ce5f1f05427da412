package fieldedit

import (
	"bytes"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// JSON replaces the values path leads to in the JSON document data by
// value (jsonField; the path syntax is yamlField's). A string is written
// as a JSON string; a number, boolean or null is replaced by a bare
// literal only when value is a literal of the same JSON type, and by a
// string otherwise.
func JSON(data []byte, path, value string) (Result, error) {
	p, err := start(path, data, value, false)
	if err != nil {
		return Result{}, err
	}
	tree, err := parseJSON(path, data, "the file")
	if err != nil {
		return Result{}, err
	}
	places, err := find(p, []*yaml.Node{tree.doc})
	if err != nil {
		return Result{}, err
	}
	var (
		res     = Result{Out: data}
		repls   []repl
		changed = map[*yaml.Node]want{}
	)
	for _, pl := range places {
		n := pl.node
		if n.Value == value {
			continue
		}
		text, tag, err := jsonValue(n.ShortTag(), value)
		if err != nil {
			return Result{}, errorf(path, n.Line, "%s: %v", pl.name(), err)
		}
		sp := tree.spans[n]
		repls = append(repls, repl{sp.Start, sp.End, text})
		changed[n] = want{value: value, tag: tag}
		res.Old = append(res.Old, n.Value)
		res.Lines = append(res.Lines, n.Line)
	}
	return apply(path, data, value, res, repls, func(out []byte) error {
		return checkJSON(path, out, tree, changed)
	})
}

var jsonNumberRe = lazyre.New(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// jsonValue writes value in place of a JSON value of tag: the text and
// the tag it reads back as.
func jsonValue(tag, value string) (string, string, error) {
	lit := jsonLiteralTag(value)
	switch {
	case (tag == "!!int" || tag == "!!float") && (lit == "!!int" || lit == "!!float"),
		tag == "!!bool" && lit == "!!bool",
		tag == "!!null" && lit == "!!null":
		return value, lit, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		return "", "", fmt.Errorf("the value cannot be written as a JSON string: %v", err)
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), "!!str", nil
}

// checkJSON checks that out is valid JSON reading as the original tree
// with only the values of changed replaced; encoding/json decodes each
// new value too.
func checkJSON(path string, out []byte, before *jsonTree, changed map[*yaml.Node]want) error {
	after, err := parseJSON(path, out, "the edited file")
	if err != nil {
		return err
	}
	if err := sameDocs([]*yaml.Node{before.doc}, []*yaml.Node{after.doc}, changed); err != nil {
		return err
	}
	// The trees match node for node: find the new values by walking both.
	var check func(a, b *yaml.Node) error
	check = func(a, b *yaml.Node) error {
		if w, ok := changed[a]; ok {
			sp := after.spans[b]
			var v any
			dec := json.NewDecoder(bytes.NewReader(out[sp.Start:sp.End]))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				return err
			}
			if got := fmt.Sprint(v); got != w.value && !(v == nil && w.value == "null") {
				return fmt.Errorf("line %d: encoding/json reads the new value as %s", b.Line, short(got))
			}
			return nil
		}
		for i := range a.Content {
			if err := check(a.Content[i], b.Content[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return check(before.doc, after.doc)
}
