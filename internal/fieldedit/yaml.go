package fieldedit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/lazyre"
	"github.com/gitops-pipe/pipe/internal/yamlalias"
)

// YAML replaces the scalars path leads to in every document of data by
// value (PipeCD's yamlField). See the package documentation for the path
// syntax and how the value is written.
func YAML(data []byte, path, value string) (Result, error) {
	p, err := start(path, data, value, false)
	if err != nil {
		return Result{}, err
	}
	docs, err := decodeYAML(path, data, "the file")
	if err != nil {
		return Result{}, err
	}
	if err := checkAliases(path, data, docs); err != nil {
		return Result{}, err
	}
	places, err := find(p, docs)
	if err != nil {
		return Result{}, err
	}
	src := NewSource(data)
	var (
		res     = Result{Out: data}
		repls   []repl
		changed = map[*yaml.Node]want{}
	)
	for _, pl := range places {
		if pl.node.Value == value {
			continue
		}
		rs, w, err := yamlEdit(src, pl, value)
		if err != nil {
			return Result{}, &Error{Path: path, Line: pl.node.Line, Msg: fmt.Sprintf("%s %s", pl.name(), err)}
		}
		repls = append(repls, rs...)
		changed[pl.node] = w
		res.Old = append(res.Old, pl.node.Value)
		res.Lines = append(res.Lines, pl.node.Line)
	}
	return apply(path, data, value, res, repls, func(out []byte) error {
		after, err := decodeYAML(path, out, "the edited file")
		if err != nil {
			return err
		}
		return sameDocs(docs, after, changed)
	})
}

// yamlEdit writes value in the place of pl: the bytes replaced, and what
// the new scalar must read back as.
func yamlEdit(src *Source, pl place, value string) ([]repl, want, error) {
	n := pl.node
	sp, err := src.Locate(n, pl.parent)
	if err != nil {
		return nil, want{}, fmt.Errorf("cannot be found in the file's text (%v); edit the file by hand", err)
	}
	tag := n.ShortTag()
	explicit := n.Style&yaml.TaggedStyle != 0
	w := want{value: value, tag: "!!str"}
	if explicit {
		// The tag stays: the value must be one of its type.
		w.tag = tag
		if coreTags[tag] {
			if t, ok := resolvePlain(value); !ok || t != tag {
				return nil, w, fmt.Errorf("is tagged %s and %s is not a valid %s; remove the tag to store a string", tag, short(value), tagName(tag))
			}
		}
	}
	if sp.Block() || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		if b, ok := blockScalar(src.data, sp, pl.parent, value); ok {
			return []repl{{sp.Start, sp.End, b.header}, {sp.Tail, sp.Stop, b.content}}, w, nil
		}
		return []repl{{sp.Start, sp.End, doubleQuoted(value)}, {sp.Tail, sp.Stop, ""}}, w, nil
	}
	plainTag := tag
	switch {
	case explicit:
		plainTag = "" // any: the tag written says the type
	case n.Style == 0 && tag == "!!str" && yaml11Tag(n.Value) != "" && yaml11Tag(value) == yaml11Tag(n.Value):
		// yes replaced by no: YAML 1.1 reads both as booleans, YAML 1.2
		// as strings; plain, the value keeps the old one's type in both.
		plainTag = ""
	}
	text, plain := formatScalar(value, n.Style, plainTag, pl.flow)
	if plain && !explicit {
		w.tag = tag
	}
	if sp.Start == sp.End && sp.Start > 0 && !isBlank(src.data[sp.Start-1]) && breakLen(src.data, sp.Start-1) == 0 {
		text = " " + text // key: becomes key: "value"
	}
	return []repl{{sp.Start, sp.End, text}}, w, nil
}

// coreTags are the YAML types besides strings that a plain scalar resolves
// to; a value replacing one explicitly tagged so must be of that type.
var coreTags = map[string]bool{"!!int": true, "!!float": true, "!!bool": true, "!!null": true, "!!timestamp": true}

func tagName(tag string) string {
	return map[string]string{"!!int": "integer", "!!float": "number", "!!bool": "boolean", "!!null": "null", "!!timestamp": "timestamp"}[tag]
}

// repl replaces data[start:end] by text.
type repl struct {
	start, end int
	text       string
}

// splice applies repls (in any order; they must not overlap) to data.
func splice(data []byte, repls []repl) ([]byte, error) {
	sort.SliceStable(repls, func(i, j int) bool { return repls[i].start < repls[j].start })
	n := len(data)
	for _, r := range repls {
		n += len(r.text) - (r.end - r.start)
	}
	out := make([]byte, 0, max(n, 0))
	last := 0
	for _, r := range repls {
		if r.start < last || r.end < r.start || r.end > len(data) {
			return nil, errors.New("two places to replace overlap; edit the file by hand")
		}
		out = append(out, data[last:r.start]...)
		out = append(out, r.text...)
		last = r.end
	}
	return append(out, data[last:]...), nil
}

// decodeYAML parses every document of data (what names it in errors).
func decodeYAML(path string, data []byte, what string) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, errorf(path, yamlErrorLine(err), "%s is not valid YAML: %v", what, err)
		}
		docs = append(docs, &doc)
	}
}

var yamlLineRe = lazyre.New(`line (\d+)`)

// yamlErrorLine is the line a yaml.v3 error names; 0 if none.
func yamlErrorLine(err error) int {
	if m := yamlLineRe().FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// checkAliases refuses a file whose aliases expand into too many nodes.
func checkAliases(path string, data []byte, docs []*yaml.Node) error {
	if bytes.IndexByte(data, '*') < 0 {
		return nil
	}
	var c yamlalias.Checker
	for _, d := range docs {
		if err := c.Check(d); err != nil {
			return errorf(path, err.Line, "the file is refused: line %d: %s (%s)", err.Line, err.Message, err.Hint)
		}
	}
	return nil
}
