package render

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/gitops-pipe/pipe/internal/lazyre"
	"github.com/gitops-pipe/pipe/internal/yamlalias"
)

// document is one YAML document of a multi-document stream.
type document struct {
	data []byte
	// line is the 1-based line of the stream where data starts.
	line int
	// source is the path of a leading "# Source: path" comment (Helm's
	// output names each template so), else "".
	source string
}

// splitDocuments splits a stream at lines holding only `---` (like kubectl),
// dropping documents that hold nothing but blank lines and comments.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine, line := 0, 1, 1
	flush := func(end int) {
		if d := data[start:end]; !blankYAML(d) {
			docs = append(docs, document{data: d, line: startLine, source: sourceComment(d)})
		}
	}
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if j >= 0 {
			next = i + j + 1
		}
		l := data[i:next]
		if bytes.HasPrefix(l, []byte("---")) && len(bytes.TrimSpace(l[3:])) == 0 {
			flush(i)
			start, startLine = next, line+1
		}
		i = next
		line++
	}
	flush(len(data))
	return docs
}

// blankYAML reports whether d has only blank lines and comments.
func blankYAML(d []byte) bool {
	for len(d) > 0 {
		var l []byte
		if i := bytes.IndexByte(d, '\n'); i >= 0 {
			l, d = d[:i], d[i+1:]
		} else {
			l, d = d, nil
		}
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' && !bytes.Equal(l, []byte("...")) {
			return false
		}
	}
	return true
}

func sourceComment(d []byte) string {
	for len(d) > 0 {
		var l []byte
		if i := bytes.IndexByte(d, '\n'); i >= 0 {
			l, d = d[:i], d[i+1:]
		} else {
			l, d = d, nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		if s, ok := bytes.CutPrefix(l, []byte("# Source: ")); ok {
			return string(bytes.TrimSpace(s))
		}
		if l[0] != '#' {
			return ""
		}
	}
	return ""
}

var yamlLineRe = lazyre.New(`^(?:error converting YAML to JSON: )?yaml: line (\d+): `)

// decodeDocument parses one document into objects: one, or the items of a
// List. Errors are located in file at the document's line (plus the line
// the YAML parser reports). Strict rejects duplicate mapping keys.
func decodeDocument(d document, src Source, strict bool) ([]rendered, error) {
	var (
		j   []byte
		err error
	)
	if strict {
		j, err = yaml.YAMLToJSONStrict(d.data)
	} else {
		j, err = yaml.YAMLToJSON(d.data)
	}
	if err != nil {
		if e := locateAliasError(src.File, src.Line, d.data, err); e != nil {
			return nil, e
		}
		return nil, yamlError(src.File, src.Line, err)
	}
	var v any
	if err := utiljson.Unmarshal(j, &v); err != nil {
		return nil, &Error{File: src.File, Line: src.Line, Err: err}
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(src.File, src.Line, "the document is not a Kubernetes object (a mapping with apiVersion and kind), but a %s", jsonKind(v))
	}
	obj := &unstructured.Unstructured{Object: m}
	if err := checkObject(obj); err != nil {
		return nil, &Error{File: src.File, Line: src.Line, Err: err}
	}
	if !isList(obj) {
		return []rendered{{obj: obj, src: src}}, nil
	}
	items, _ := m["items"].([]any)
	out := make([]rendered, 0, len(items))
	for i, it := range items {
		im, ok := it.(map[string]any)
		if !ok {
			return nil, errorf(src.File, src.Line, "%s item %d is not an object but a %s", obj.GetKind(), i+1, jsonKind(it))
		}
		item := &unstructured.Unstructured{Object: im}
		if err := checkObject(item); err != nil {
			return nil, errorf(src.File, src.Line, "%s item %d: %v", obj.GetKind(), i+1, err)
		}
		s := src
		s.Item = i
		out = append(out, rendered{obj: item, src: s})
	}
	return out, nil
}

// isList reports whether obj is a List kind (v1 List, or any *List) holding items.
func isList(obj *unstructured.Unstructured) bool {
	if !strings.HasSuffix(obj.GetKind(), "List") {
		return false
	}
	_, ok := obj.Object["items"].([]any)
	return ok
}

func checkObject(obj *unstructured.Unstructured) error {
	for _, f := range []string{"apiVersion", "kind"} {
		v, ok := obj.Object[f]
		if !ok {
			return fmt.Errorf("the object has no %s", f)
		}
		if s, ok := v.(string); !ok || s == "" {
			return fmt.Errorf("%s must be a non-empty string", f)
		}
	}
	if isList(obj) {
		return nil
	}
	if md, ok := obj.Object["metadata"]; ok {
		if _, ok := md.(map[string]any); !ok {
			return fmt.Errorf("%s: metadata must be a mapping", obj.GetKind())
		}
	}
	if obj.GetName() == "" {
		if obj.GetGenerateName() != "" {
			return fmt.Errorf("%s %q has generateName but no name: pipe applies objects by name", obj.GetKind(), obj.GetGenerateName())
		}
		return fmt.Errorf("%s has no metadata.name", obj.GetKind())
	}
	return nil
}

// yamlError locates a YAML parser error in file, whose document starts at
// docLine; docLine 0 means the document is rendered output, with no line of
// the file to point at.
func yamlError(file string, docLine int, err error) *Error {
	msg := err.Error()
	at := func(n int, text string) *Error {
		if docLine == 0 {
			return &Error{File: file, Err: fmt.Errorf("invalid YAML in the rendered output, line %d: %s", n, text)}
		}
		return &Error{File: file, Line: docLine + n - 1, Err: errors.New("invalid YAML: " + text)}
	}
	if m := yamlLineRe().FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return at(n, msg[len(m[0]):])
	}
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	// Strict decoding reports duplicates as `yaml: unmarshal errors:\n  line N: ...`.
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		if j := strings.IndexByte(rest, ':'); j > 0 {
			if n, err := strconv.Atoi(rest[:j]); err == nil {
				return at(n, strings.TrimSpace(rest[j+1:]))
			}
		}
	}
	return &Error{File: file, Line: docLine, Err: errors.New("invalid YAML: " + msg)}
}

// Anchors and aliases. sigs.k8s.io/yaml (manifests, Helm values, Helm's
// chart files and its fromYaml) refuses an alias inside its own anchor's
// value and "excessive aliasing" on its own, without saying where;
// kustomize's kyaml does not: it replaces every alias by a copy of its value
// (RNode.DeAnchor) with no cycle check and no bound, so a resource holding
// `&s {a: *s}` overflowed the stack and nine levels of nine aliases ran out
// of memory. checkAliases guards what kustomize reads.

// checkAliases refuses YAML whose anchors and aliases expand past the bounds
// of package yamlalias, with the file and line of the alias responsible.
// Data that is not YAML passes: it is the caller's parser's to report.
func checkAliases(file string, data []byte) *Error {
	var e *yamlalias.Error
	if errors.As(yamlalias.CheckStream(data), &e) {
		return aliasError(file, 1, e)
	}
	return nil
}

// aliasError locates e like yamlError does a parser error.
func aliasError(file string, docLine int, e *yamlalias.Error) *Error {
	if docLine == 0 {
		return &Error{File: file, Err: fmt.Errorf("in the rendered output, line %d, column %d: %s (%s)", e.Line, e.Column, e.Message, e.Hint)}
	}
	return &Error{File: file, Line: docLine + e.Line - 1, Err: fmt.Errorf("column %d: %s (%s)", e.Column, e.Message, e.Hint)}
}

// locateAliasError turns sigs.k8s.io/yaml's refusal of a document's
// aliases, which gives no line, into yamlalias's account of it; nil when
// err is another error or yamlalias accepts the document (its bounds are
// not the same).
func locateAliasError(file string, docLine int, data []byte, err error) *Error {
	msg := err.Error()
	if !strings.Contains(msg, "excessive aliasing") && !strings.Contains(msg, "value contains itself") {
		return nil
	}
	var e *yamlalias.Error
	if errors.As(yamlalias.CheckStream(data), &e) {
		return aliasError(file, docLine, e)
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "boolean"
	case nil:
		return "null"
	case map[string]any:
		return "mapping"
	}
	return "number"
}

// decodeStream splits and decodes a whole stream.
func decodeStream(data []byte, file string, strict bool, mkSrc func(d document, index int) Source) ([]rendered, error) {
	var out []rendered
	for i, d := range splitDocuments(data) {
		src := Source{File: file, Doc: i, Line: d.line, Item: -1}
		if mkSrc != nil {
			src = mkSrc(d, i)
		}
		objs, err := decodeDocument(d, src, strict)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}
