package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Pos is a 1-based line and column in a file.
type Pos struct{ Line, Column int }

// NodeDecoder is implemented by types that decode themselves from YAML
// (durations, percentages, pipeline stages whose options depend on their
// name...). They report problems through d and never panic.
type NodeDecoder interface {
	DecodeNode(d *Decoder, n *yaml.Node, path string)
}

// Decoder turns a yaml.Node tree into typed values. Unlike yaml.Unmarshal it
// does not stop at the first problem: every unknown field, wrong type and bad
// value is collected as a Diagnostic with its position and field path. It
// records the position of every field it decodes so that later semantic checks
// can point at the right line.
type Decoder struct {
	File  string
	Diags Diagnostics
	// Kind is the application kind being decoded; stage decoding uses it.
	Kind Kind
	// Positions maps a field path (as in Diagnostic.Path) to where it was written.
	Positions map[string]Pos
	// reported holds the problems reported, by position: a value an alias
	// repeats is decoded once per alias, but its problems are told once.
	reported map[reportedKey]bool
}

type reportedKey struct {
	line, column int
	msg          string
}

// NewDecoder returns a decoder for one file.
func NewDecoder(file string) *Decoder {
	return &Decoder{File: file, Positions: map[string]Pos{}}
}

// Errorf records an error at node n.
func (d *Decoder) Errorf(n *yaml.Node, path, hint, format string, args ...any) {
	d.add(SeverityError, n, path, hint, fmt.Sprintf(format, args...))
}

// Warnf records a warning at node n.
func (d *Decoder) Warnf(n *yaml.Node, path, hint, format string, args ...any) {
	d.add(SeverityWarning, n, path, hint, fmt.Sprintf(format, args...))
}

func (d *Decoder) add(sev Severity, n *yaml.Node, path, hint, msg string) {
	diag := Diagnostic{File: d.File, Path: path, Severity: sev, Message: msg, Hint: hint}
	if n != nil && n.Line > 0 {
		diag.Line, diag.Column = n.Line, n.Column
		key := reportedKey{n.Line, n.Column, string(sev) + msg}
		if d.reported[key] {
			return
		}
		if d.reported == nil {
			d.reported = map[reportedKey]bool{}
		}
		d.reported[key] = true
	}
	d.Diags = append(d.Diags, diag)
}

// Decode decodes n into the value v points to.
func (d *Decoder) Decode(n *yaml.Node, v any, path string) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("config: Decode needs a non-nil pointer") // programming error, not input
	}
	d.decode(n, rv.Elem(), path)
}

var nodeDecoderType = reflect.TypeFor[NodeDecoder]()

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func (d *Decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if n == nil {
		return
	}
	if path != "" {
		if _, seen := d.Positions[path]; !seen {
			d.Positions[path] = Pos{n.Line, n.Column}
		}
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(NodeDecoder).DecodeNode(d, n, path)
		return
	}
	if isNull(n) {
		// An explicit null leaves the zero value (and its defaults, below).
		if v.Kind() == reflect.Struct {
			d.applyDefaults(v, path)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.Errorf(n, path, "", "%v", cleanYAMLError(err))
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.decodeScalar(n, v, path)
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("the string %q", truncate(n.Value, 40))
		case "!!int", "!!float":
			return "the number " + truncate(n.Value, 40)
		case "!!bool":
			return "the boolean " + n.Value
		case "!!null":
			return "null"
		}
		return fmt.Sprintf("%q", truncate(n.Value, 40))
	}
	return "a document"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// fieldInfo describes one decodable struct field.
type fieldInfo struct {
	name     string
	index    []int
	required bool
	def      string
	hasDef   bool
}

// fieldCache memoises structFields: the set of types is fixed at compile
// time, so the cache only ever fills up to it (it is not mutable state in
// any observable sense).
var fieldCache sync.Map // reflect.Type -> []fieldInfo

// structFields lists the fields of t by their JSON names, flattening embedded
// structs, in declaration order. The result is shared: do not modify it.
func structFields(t reflect.Type) []fieldInfo {
	if cached, ok := fieldCache.Load(t); ok {
		return cached.([]fieldInfo)
	}
	out := computeStructFields(t)
	fieldCache.Store(t, out)
	return out
}

func computeStructFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" || strings.Contains(opts, "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for _, sub := range structFields(ft) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fi := fieldInfo{name: name, index: []int{i}}
		for _, part := range strings.Split(f.Tag.Get("jsonschema"), ",") {
			switch {
			case part == "required":
				fi.required = true
			case strings.HasPrefix(part, "default="):
				fi.def, fi.hasDef = strings.TrimPrefix(part, "default="), true
			}
		}
		out = append(out, fi)
	}
	return out
}

func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func mapKeyPath(path, key string) string {
	simple := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			simple = false
			break
		}
	}
	if simple {
		return joinPath(path, key)
	}
	return fmt.Sprintf("%s[%q]", path, key)
}

// mappingPairs returns the key/value pairs of a mapping, expanding YAML merge
// keys (<<) so that anchors can be reused as users expect: a key written in
// the mapping wins over a merged one, and of `<<: [*a, *b]` the mapping
// listed first wins (keys written twice in one mapping are kept, for the
// caller to report). Merged pairs take the place of their merge key. The
// document went through checkAliases, so the expansion ends and is bounded.
func (d *Decoder) mappingPairs(n *yaml.Node, path string) [][2]*yaml.Node {
	written := map[string]bool{}
	merges := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; isMergeKey(k) {
			merges = true
		} else if k.Kind == yaml.ScalarNode {
			written[k.Value] = true
		}
	}
	pairs := make([][2]*yaml.Node, 0, len(n.Content)/2)
	if !merges {
		for i := 0; i+1 < len(n.Content); i += 2 {
			pairs = append(pairs, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
		}
		return pairs
	}
	merged := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isMergeKey(k) {
			pairs = append(pairs, [2]*yaml.Node{k, v})
			continue
		}
		for _, s := range d.mergeSources(v, path) {
			for _, kv := range d.mappingPairs(s, path) {
				if mk := kv[0]; mk.Kind == yaml.ScalarNode {
					if written[mk.Value] || merged[mk.Value] {
						continue
					}
					merged[mk.Value] = true
				}
				pairs = append(pairs, kv)
			}
		}
	}
	return pairs
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

// mergeSources lists the mappings a merge key's value v merges: one
// mapping, or a list of them. Anything else is reported.
func (d *Decoder) mergeSources(v *yaml.Node, path string) []*yaml.Node {
	items := []*yaml.Node{v}
	if src := resolveAlias(v); src.Kind == yaml.SequenceNode {
		items = src.Content
	}
	out := make([]*yaml.Node, 0, len(items))
	for _, it := range items {
		s := resolveAlias(it)
		if s.Kind != yaml.MappingNode {
			d.Errorf(it, path, "write `<<: *anchor` or `<<: [*a, *b]`, where the anchors are mappings", "a merge key (<<) needs a mapping, got %s", kindName(s))
			continue
		}
		out = append(out, s)
	}
	return out
}

func (d *Decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "", "expected a mapping, got %s", kindName(n))
		return
	}
	fields := structFields(v.Type())
	byName := make(map[string]*fieldInfo, len(fields))
	names := make([]string, 0, len(fields))
	for i := range fields {
		byName[fields[i].name] = &fields[i]
		names = append(names, fields[i].name)
	}
	seen := map[string]*yaml.Node{}
	for _, kv := range d.mappingPairs(n, path) {
		k, val := kv[0], kv[1]
		if k.Kind != yaml.ScalarNode {
			d.Errorf(k, path, "", "a key must be a plain string, got %s", kindName(k))
			continue
		}
		key := k.Value
		fpath := joinPath(path, key)
		if prev, dup := seen[key]; dup {
			d.Errorf(k, fpath, fmt.Sprintf("first set at line %d", prev.Line), "field `%s` is set twice", key)
			continue
		}
		seen[key] = k
		fi, ok := byName[key]
		if !ok {
			d.Errorf(k, fpath, d.hintForUnknown(v.Type(), key, names), "unknown field `%s`", key)
			continue
		}
		d.Positions[fpath] = Pos{k.Line, k.Column}
		d.decode(val, fieldByIndex(v, fi.index), fpath)
	}
	for i := range fields {
		fi := &fields[i]
		if _, ok := seen[fi.name]; ok {
			continue
		}
		fv := fieldByIndex(v, fi.index)
		fpath := joinPath(path, fi.name)
		switch {
		case fi.required:
			d.Errorf(n, fpath, "", "missing required field `%s`", fi.name)
		case fi.hasDef:
			d.decode(&yaml.Node{Kind: yaml.ScalarNode, Tag: scalarTagFor(fv, fi.def), Value: fi.def, Line: n.Line, Column: n.Column}, fv, "")
		case fv.Kind() == reflect.Struct:
			d.applyDefaults(fv, fpath)
		}
	}
}

// scalarTagFor picks the YAML tag of a default value so that it decodes into
// the field as if the user had written it.
func scalarTagFor(v reflect.Value, s string) string {
	switch v.Kind() {
	case reflect.Bool:
		return "!!bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return "!!int"
		}
	case reflect.Float32, reflect.Float64:
		return "!!float"
	}
	return "!!str"
}

// applyDefaults fills the defaults of a struct that was not written at all.
func (d *Decoder) applyDefaults(v reflect.Value, path string) {
	if v.CanAddr() {
		if def, ok := v.Addr().Interface().(interface{ applyDefaults() }); ok {
			def.applyDefaults()
			return
		}
	}
	d.decodeStruct(&yaml.Node{Kind: yaml.MappingNode}, v, path)
}

// hintForUnknown explains an unknown field: a type-specific explanation when
// the type has one (e.g. PipeCD fields that do not exist), else a near miss.
func (d *Decoder) hintForUnknown(t reflect.Type, key string, names []string) string {
	if h, ok := reflect.New(t).Interface().(interface{ unknownFieldHint(string) string }); ok {
		if hint := h.unknownFieldHint(key); hint != "" {
			return hint
		}
	}
	return unknownHint(key, names)
}

func (d *Decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "", "expected a mapping, got %s", kindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]*yaml.Node{}
	for _, kv := range d.mappingPairs(n, path) {
		k, val := kv[0], kv[1]
		if k.Kind != yaml.ScalarNode {
			d.Errorf(k, path, "", "a key must be a plain string, got %s", kindName(k))
			continue
		}
		kpath := mapKeyPath(path, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.Errorf(k, kpath, fmt.Sprintf("first set at line %d", prev.Line), "key %q is set twice", k.Value)
			continue
		}
		seen[k.Value] = k
		key := reflect.New(v.Type().Key()).Elem()
		d.decodeScalar(k, key, kpath)
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, kpath)
		v.SetMapIndex(key, elem)
	}
}

func (d *Decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.Errorf(n, path, "", "expected a list, got %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *Decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.Errorf(n, path, "", "expected %s, got %s", scalarKindName(v.Kind()), kindName(n))
		return
	}
	tag := n.ShortTag()
	switch v.Kind() {
	case reflect.String:
		// Any scalar is accepted as a string, keeping the text as written
		// (`kubectlVersion: 1.30` stays "1.30", not 1.3).
		v.SetString(n.Value)
	case reflect.Bool:
		if tag != "!!bool" {
			d.Errorf(n, path, "write true or false, without quotes", "expected a boolean, got %s", kindName(n))
			return
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if tag != "!!int" {
			d.Errorf(n, path, "", "expected an integer, got %s", kindName(n))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || v.OverflowInt(i) {
			d.Errorf(n, path, "", "integer %s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if tag != "!!int" {
			d.Errorf(n, path, "", "expected a non-negative integer, got %s", kindName(n))
			return
		}
		u, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || v.OverflowUint(u) {
			d.Errorf(n, path, "", "expected a non-negative integer, got %s", n.Value)
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		if tag != "!!int" && tag != "!!float" {
			d.Errorf(n, path, "", "expected a number, got %s", kindName(n))
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.Errorf(n, path, "", "expected a finite number, got %s", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		d.Errorf(n, path, "", "cannot decode into %s", v.Type())
	}
}

func scalarKindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a value"
}

// cleanYAMLError strips the "yaml: " prefix of parser errors.
func cleanYAMLError(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
