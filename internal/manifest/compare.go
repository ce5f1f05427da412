package manifest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Op says how a field differs between the desired and the live side of a
// comparison.
type Op string

const (
	// Changed: the field holds another value live than desired.
	Changed Op = "changed"
	// LiveOnly: the field exists live but not on the desired side.
	LiveOnly Op = "live-only"
	// Missing: the desired side sets the field but it is absent live.
	Missing Op = "missing"
)

// FieldDiff is one field that differs.
type FieldDiff struct {
	// Path is the field, dotted; list items are named by their key field
	// when the list has one (containers[name=web]), else by index
	// (args[1]). A list that differs as a whole has the list's path.
	Path string
	Op   Op
	// Desired and Live are the values on each side; nil on the side where
	// the field does not exist.
	Desired, Live any
}

// Equal reports whether two decoded JSON/YAML values (normalised objects,
// or any part of them) are the same for Kubernetes: exactly when Compare
// finds no difference between them. The rules, which pipe's planner, live
// plan, unchanged check and drift detection all follow:
//
//   - null, an empty map and an empty list are absent (recursively: a map
//     whose fields are all empty is empty), as drift detection always
//     treated them: the API server drops most empty values, and
//     defaulting fills others in. A map compares field by field, so there
//     is no length check: {a: 1, b: null} equals {a: 1};
//   - numbers compare by value, whatever their Go type (YAML decoders
//     give float64, the API server int64), and a number equals its
//     decimal string: 3 equals "3", 1.5 equals "1.5" (a value quoted in
//     one place and not in another; drift detection always allowed it).
//     Two strings compare as strings: "01" is not "1";
//   - lists whose items are all maps with a distinct value of one key
//     field (tried in order: name, mountPath, containerPort, port,
//     devicePath, ip, topologyKey, key) match their items by that key,
//     so reordering them is not a difference, as for the associative
//     lists of server-side apply. Other lists compare item by item;
//   - anything else compares with reflect.DeepEqual.
//
// Drift detection and the unchanged check follow these rules; the planner
// uses EqualInOrder, for which the order of keyed items counts.
func Equal(a, b any) bool {
	c := comparer{first: true}
	c.values(a, b)
	return !c.found
}

// EqualInOrder is Equal, except that keyed list items in another order
// differ: the planner's comparison of two desired states, because
// reordering the containers or the env variables of a pod template
// changes the template (a rollout restarts the pods), which a plan must
// show and a pipeline must gate.
func EqualInOrder(a, b any) bool {
	c := comparer{first: true, ordered: true}
	c.values(a, b)
	return !c.found
}

// Compare returns the fields where desired and live differ, by the rules
// of Equal, sorted by path within each map (keys in order, then list items
// in desired's order followed by live-only items).
func Compare(desired, live any) []FieldDiff {
	var c comparer
	c.values(desired, live)
	return c.diffs
}

// Empty reports whether a value counts as absent: nil, or a map or list
// of empty values only.
func Empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, e := range x {
			if !Empty(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !Empty(e) {
				return false
			}
		}
		return true
	}
	return false
}

// listKeys are the fields that identify list items, tried in order: the
// merge keys of the Kubernetes lists people edit.
var listKeys = []string{"name", "mountPath", "containerPort", "port", "devicePath", "ip", "topologyKey", "key"}

// comparer walks two values. With first set it stops at the first
// difference (Equal) and builds no paths.
type comparer struct {
	path  []string
	diffs []FieldDiff
	first bool
	found bool
	// ordered makes keyed list items in another order a difference.
	ordered bool
}

func (c *comparer) report(op Op, a, b any) {
	c.found = true
	if c.first {
		return
	}
	c.diffs = append(c.diffs, FieldDiff{Path: strings.Join(c.path, "."), Op: op, Desired: a, Live: b})
}

func (c *comparer) done() bool { return c.first && c.found }

// field compares a and b at path.name.
func (c *comparer) field(name string, a, b any) {
	c.path = append(c.path, name)
	c.values(a, b)
	c.path = c.path[:len(c.path)-1]
}

// item compares a and b at path + suffix ("[name=web]", "[0]").
func (c *comparer) item(suffix string, a, b any) {
	if c.first {
		c.values(a, b)
		return
	}
	if len(c.path) == 0 {
		c.field(suffix, a, b)
		return
	}
	last := c.path[len(c.path)-1]
	c.path[len(c.path)-1] = last + suffix
	c.values(a, b)
	c.path[len(c.path)-1] = last
}

func (c *comparer) values(a, b any) {
	if c.done() {
		return
	}
	ae, be := Empty(a), Empty(b)
	// A keyed list emptied on one side is compared item by item.
	if al, ok := a.([]any); ok && be && !ae && itemKey(al) != "" {
		b, be = []any{}, false
	} else if bl, ok := b.([]any); ok && ae && !be && itemKey(bl) != "" {
		a, ae = []any{}, false
	}
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	switch {
	case ae && be:
		return
	case aIsMap && bIsMap:
		c.maps(am, bm)
		return
	case be:
		c.report(Missing, a, nil)
		return
	case ae:
		c.report(LiveOnly, nil, b)
		return
	}
	if al, ok := a.([]any); ok {
		if bl, ok := b.([]any); ok {
			c.lists(al, bl)
			return
		}
	}
	if !scalarEqual(a, b) {
		c.report(Changed, a, b)
	}
}

func (c *comparer) maps(a, b map[string]any) {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	if !c.first {
		sort.Strings(keys)
	}
	for _, k := range keys {
		if c.done() {
			return
		}
		c.field(k, a[k], b[k])
	}
}

// lists matches items by a key field when every item of both lists has a
// distinct one, else by index; an atomic list of scalars (args, command)
// whose length changed differs as one value.
func (c *comparer) lists(a, b []any) {
	if key := itemKey(a, b); key != "" {
		if c.ordered && !sameOrder(key, a, b) {
			c.report(Changed, a, b)
			return
		}
		bi := make(map[string]any, len(b))
		for _, it := range b {
			bi[fmt.Sprint(it.(map[string]any)[key])] = it
		}
		seen := make(map[string]bool, len(a))
		for _, it := range a {
			v := fmt.Sprint(it.(map[string]any)[key])
			seen[v] = true
			c.item("["+key+"="+v+"]", it, bi[v])
		}
		for _, it := range b {
			if v := fmt.Sprint(it.(map[string]any)[key]); !seen[v] {
				c.item("["+key+"="+v+"]", nil, it)
			}
		}
		return
	}
	if len(a) != len(b) && scalars(a) && scalars(b) {
		c.report(Changed, a, b)
		return
	}
	for i := 0; i < max(len(a), len(b)) && !c.done(); i++ {
		var x, y any
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		c.item("["+strconv.Itoa(i)+"]", x, y)
	}
}

// sameOrder reports whether the items both keyed lists have come in the
// same order.
func sameOrder(key string, a, b []any) bool {
	inB := make(map[string]bool, len(b))
	for _, it := range b {
		inB[fmt.Sprint(it.(map[string]any)[key])] = true
	}
	inA := make(map[string]bool, len(a))
	var ka []string
	for _, it := range a {
		v := fmt.Sprint(it.(map[string]any)[key])
		inA[v] = true
		if inB[v] {
			ka = append(ka, v)
		}
	}
	i := 0
	for _, it := range b {
		v := fmt.Sprint(it.(map[string]any)[key])
		if !inA[v] {
			continue
		}
		if i >= len(ka) || ka[i] != v {
			return false
		}
		i++
	}
	return true
}

func scalars(l []any) bool {
	for _, it := range l {
		switch it.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

// itemKey returns the first of listKeys that every item of every list has,
// with distinct values within each list; "" when there is none or an item
// is not a map.
func itemKey(lists ...[]any) string {
	for _, k := range listKeys {
		ok := true
		for _, l := range lists {
			seen := make(map[string]bool, len(l))
			for _, it := range l {
				m, isMap := it.(map[string]any)
				if !isMap {
					return ""
				}
				v, has := m[k]
				if !has {
					ok = false
					break
				}
				s := fmt.Sprint(v)
				if seen[s] {
					ok = false
					break
				}
				seen[s] = true
			}
			if !ok {
				break
			}
		}
		if ok {
			return k
		}
	}
	return ""
}

// scalarEqual compares two non-empty values that are not both maps or
// both lists.
func scalarEqual(a, b any) bool {
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return as == bs
		}
	}
	x, xok := numberOf(a)
	y, yok := numberOf(b)
	if xok && yok {
		return x.equal(y)
	}
	return reflect.DeepEqual(a, b)
}

// num is a number decoded from JSON or YAML, or read from a decimal
// string: exact when it is an integer.
type num struct {
	i     int64
	f     float64
	isInt bool
}

func (x num) equal(y num) bool {
	if x.isInt && y.isInt {
		return x.i == y.i
	}
	return x.float() == y.float()
}

func (x num) float() float64 {
	if x.isInt {
		return float64(x.i)
	}
	return x.f
}

func numberOf(v any) (num, bool) {
	switch n := v.(type) {
	case int64:
		return num{i: n, isInt: true}, true
	case int:
		return num{i: int64(n), isInt: true}, true
	case int32:
		return num{i: int64(n), isInt: true}, true
	case float64:
		return floatNum(n), true
	case float32:
		return floatNum(float64(n)), true
	case json.Number:
		return parseNum(string(n))
	case string:
		return parseNum(n)
	}
	return num{}, false
}

func floatNum(f float64) num {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return num{i: int64(f), isInt: true}
	}
	return num{f: f}
}

// parseNum reads a decimal number; NaN, infinities and hexadecimal forms
// are not numbers here.
func parseNum(s string) (num, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return num{i: i, isInt: true}, true
	}
	if strings.ContainsAny(s, "xXnN_") { // 0x1p0, NaN, Inf(inity), 1_000
		return num{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return num{}, false
	}
	return floatNum(f), true
}

// RemovePath deletes the field at path (field names, numeric segments
// index lists, "*" is every item of a list) from obj, if present. A list
// item removed by index becomes nil, which compares as absent, so the
// other indexes keep their meaning.
func RemovePath(obj any, path []string) {
	if len(path) == 0 {
		return
	}
	switch v := obj.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(v, path[0])
			return
		}
		RemovePath(v[path[0]], path[1:])
	case []any:
		i, err := strconv.Atoi(path[0])
		if err != nil || i < 0 || i >= len(v) {
			if path[0] == "*" {
				for _, item := range v {
					RemovePath(item, path[1:])
				}
			}
			return
		}
		if len(path) == 1 {
			v[i] = nil
			return
		}
		RemovePath(v[i], path[1:])
	}
}
