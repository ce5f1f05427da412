package kubernetes

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Patch is one patch of a variant's manifest (PipeCD's
// K8S_CANARY_ROLLOUT patches): the operations apply to the object, or,
// with DocumentRoot, to the YAML or JSON text held by one of its fields
// (e.g. an Envoy config in a ConfigMap).
type Patch struct {
	Kind, Name   string
	DocumentRoot string
	Ops          []PatchOp
}

// PatchOp is one operation: yaml-replace (the default), yaml-add,
// yaml-remove, json-replace (the document is JSON) or text-regex (Path is
// a regular expression replaced by Value in the document's text).
type PatchOp struct {
	Op, Path, Value string
}

// ApplyPatches applies the patches whose target is one of objs (by kind,
// and by name with or without suffix), in order. A patch whose target is
// not there is an error.
func ApplyPatches(objs []*unstructured.Unstructured, suffix string, patches []Patch) error {
	for _, p := range patches {
		found := false
		for _, u := range objs {
			if u.GetKind() != p.Kind || (u.GetName() != p.Name && u.GetName() != p.Name+"-"+suffix) {
				continue
			}
			found = true
			if err := patchObject(u, p); err != nil {
				return fmt.Errorf("patch %s %s: %w", p.Kind, p.Name, err)
			}
		}
		if !found {
			return fmt.Errorf("patch %s %s: no such manifest", p.Kind, p.Name)
		}
	}
	return nil
}

func patchObject(u *unstructured.Unstructured, p Patch) error {
	if p.DocumentRoot == "" {
		for _, op := range p.Ops {
			if op.Op == "text-regex" {
				return fmt.Errorf("text-regex needs a documentRoot (the field holding the text)")
			}
			if err := applyOp(u.Object, op); err != nil {
				return err
			}
		}
		return nil
	}
	root, err := parsePath(p.DocumentRoot)
	if err != nil {
		return fmt.Errorf("documentRoot: %w", err)
	}
	v, err := getPath(u.Object, root)
	if err != nil {
		return fmt.Errorf("documentRoot %s: %w", p.DocumentRoot, err)
	}
	text, ok := v.(string)
	if !ok {
		return fmt.Errorf("documentRoot %s does not hold text", p.DocumentRoot)
	}
	for _, op := range p.Ops {
		if op.Op == "text-regex" {
			re, err := regexp.Compile(op.Path)
			if err != nil {
				return err
			}
			text = re.ReplaceAllString(text, op.Value)
			continue
		}
		var doc any
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			return fmt.Errorf("documentRoot %s is not YAML or JSON: %w", p.DocumentRoot, err)
		}
		wrapped := map[string]any{"$": doc}
		if err := applyOp(wrapped, op); err != nil {
			return err
		}
		var out []byte
		if op.Op == "json-replace" {
			out, err = json.Marshal(wrapped["$"])
		} else {
			out, err = yaml.Marshal(wrapped["$"])
		}
		if err != nil {
			return err
		}
		text = string(out)
	}
	return setPath(u.Object, root, text, false)
}

// applyOp applies a yaml-*/json-replace operation to obj (paths start at
// "$", which is obj itself; a document wrapped as {"$": doc} is addressed
// the same way).
func applyOp(obj map[string]any, op PatchOp) error {
	path, err := parsePath(op.Path)
	if err != nil {
		return err
	}
	if _, wrapped := obj["$"]; wrapped {
		path = append([]pathSeg{{key: "$"}}, path...)
	}
	if len(path) == 0 {
		return fmt.Errorf("%s: the path names the whole document", op.Path)
	}
	switch op.Op {
	case "", "yaml-replace", "json-replace", "yaml-add":
		var v any
		if err := yaml.Unmarshal([]byte(op.Value), &v); err != nil {
			return fmt.Errorf("value of %s: %w", op.Path, err)
		}
		return setPath(obj, path, v, op.Op == "yaml-add")
	case "yaml-remove":
		return removePath(obj, path)
	}
	return fmt.Errorf("unknown patch operation %q", op.Op)
}

type pathSeg struct {
	key   string
	index int
	isIdx bool
}

// parsePath reads "$.a.b[0].'c.d'" (also ["c.d"]).
func parsePath(s string) ([]pathSeg, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("path %q must start with $", s)
	}
	rest := s[1:]
	var out []pathSeg
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "."):
			rest = rest[1:]
			if strings.HasPrefix(rest, "'") || strings.HasPrefix(rest, `"`) {
				q := rest[:1]
				end := strings.Index(rest[1:], q)
				if end < 0 {
					return nil, fmt.Errorf("path %q: unterminated quote", s)
				}
				out = append(out, pathSeg{key: rest[1 : end+1]})
				rest = rest[end+2:]
				continue
			}
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return nil, fmt.Errorf("path %q: empty field name", s)
			}
			out = append(out, pathSeg{key: rest[:end]})
			rest = rest[end:]
		case strings.HasPrefix(rest, "["):
			end := strings.Index(rest, "]")
			if end < 0 {
				return nil, fmt.Errorf("path %q: unterminated [", s)
			}
			inner := rest[1:end]
			rest = rest[end+1:]
			if len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') {
				out = append(out, pathSeg{key: inner[1 : len(inner)-1]})
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil {
				return nil, fmt.Errorf("path %q: bad index [%s]", s, inner)
			}
			out = append(out, pathSeg{index: n, isIdx: true})
		default:
			return nil, fmt.Errorf("path %q: unexpected %q", s, rest)
		}
	}
	return out, nil
}

func getPath(cur any, path []pathSeg) (any, error) {
	for _, seg := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg.key]
			if seg.isIdx || !ok {
				return nil, fmt.Errorf("no field %q", seg.key)
			}
			cur = v
		case []any:
			if !seg.isIdx || seg.index < 0 || seg.index >= len(c) {
				return nil, fmt.Errorf("no item [%d]", seg.index)
			}
			cur = c[seg.index]
		default:
			return nil, fmt.Errorf("cannot descend into %T", cur)
		}
	}
	return cur, nil
}

// setPath sets the value at path; create makes missing maps on the way.
func setPath(obj map[string]any, path []pathSeg, v any, create bool) error {
	parent := any(obj)
	for i, seg := range path[:len(path)-1] {
		next, err := getPath(parent, []pathSeg{seg})
		if err != nil {
			m, ok := parent.(map[string]any)
			if !create || !ok || seg.isIdx {
				return fmt.Errorf("%w (at segment %d)", err, i)
			}
			next = map[string]any{}
			m[seg.key] = next
		}
		parent = next
	}
	last := path[len(path)-1]
	switch p := parent.(type) {
	case map[string]any:
		if _, ok := p[last.key]; !ok && !create {
			return fmt.Errorf("no field %q to replace (use yaml-add)", last.key)
		}
		p[last.key] = v
	case []any:
		if !last.isIdx || last.index < 0 || last.index >= len(p) {
			return fmt.Errorf("no item [%d]", last.index)
		}
		p[last.index] = v
	default:
		return fmt.Errorf("cannot set a field of %T", parent)
	}
	return nil
}

func removePath(obj map[string]any, path []pathSeg) error {
	parentPath, last := path[:len(path)-1], path[len(path)-1]
	parent, err := getPath(obj, parentPath)
	if err != nil {
		return err
	}
	switch p := parent.(type) {
	case map[string]any:
		if _, ok := p[last.key]; !ok {
			return fmt.Errorf("no field %q to remove", last.key)
		}
		delete(p, last.key)
		return nil
	case []any:
		if !last.isIdx || last.index < 0 || last.index >= len(p) {
			return fmt.Errorf("no item [%d] to remove", last.index)
		}
		return setPath(obj, parentPath, append(p[:last.index:last.index], p[last.index+1:]...), false)
	}
	return fmt.Errorf("cannot remove from %T", parent)
}
