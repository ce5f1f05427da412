package manifest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func paths(ds []FieldDiff) string {
	var out []string
	for _, d := range ds {
		out = append(out, string(d.Op)+" "+d.Path)
	}
	return strings.Join(out, "; ")
}

// TestCompare is drift detection's field comparison (it was
// TestDiffValuesNormalisation of the Kubernetes platform).
func TestCompare(t *testing.T) {
	tests := []struct {
		name, a, b, want string
	}{
		{"equal", `{x: 1}`, `{x: 1}`, ""},
		{"number forms", `{x: 3, y: 1.5}`, `{x: 3.0, y: "1.5"}`, ""},
		{"strings are not numbers", `{x: "01"}`, `{x: "1"}`, "changed x"},
		{"empty is absent", `{a: {}, b: [], c: null}`, `{}`, ""},
		{"list order of keyed items", `{l: [{name: a, v: 1}, {name: b, v: 2}]}`, `{l: [{name: b, v: 2}, {name: a, v: 1}]}`, ""},
		{"keyed item changed", `{l: [{name: a, v: 1}]}`, `{l: [{name: a, v: 2}]}`, "changed l[name=a].v"},
		{"keyed item added live", `{l: [{name: a}]}`, `{l: [{name: a}, {name: b}]}`, "live-only l[name=b]"},
		{"keyed list emptied live", `{l: [{name: a}]}`, `{}`, "missing l[name=a]"},
		{"keyed list emptied desired", `{l: []}`, `{l: [{name: a}]}`, "live-only l[name=a]"},
		{"atomic list", `{args: [a, b]}`, `{args: [a]}`, "changed args"},
		{"atomic list item", `{args: [a, b]}`, `{args: [a, c]}`, "changed args[1]"},
		{"field only live", `{}`, `{x: {y: 1}}`, "live-only x"},
		{"field missing live", `{x: 1}`, `{}`, "missing x"},
		{"empty map against a map", `{x: {}}`, `{x: {y: 1}}`, "live-only x.y"},
		{"keys in order", `{b: 1, a: 1, c: {d: 1}}`, `{a: 2, b: 2, c: {d: 2}}`, "changed a; changed b; changed c.d"},
		{"key fields other than name", `{ports: [{containerPort: 80, protocol: TCP}, {containerPort: 443}]}`, `{ports: [{containerPort: 443}, {containerPort: 80, protocol: UDP}]}`, "changed ports[containerPort=80].protocol"},
		{"unkeyed list by index", `{l: [{a: 1}, {a: 2}]}`, `{l: [{a: 1}, {a: 3}, {a: 4}]}`, "changed l[1].a; live-only l[2]"},
		{"duplicate names fall back to index", `{l: [{name: a, v: 1}, {name: a, v: 2}]}`, `{l: [{name: a, v: 2}, {name: a, v: 1}]}`, "changed l[0].v; changed l[1].v"},
		{"map against a scalar", `{x: {y: 1}}`, `{x: 1}`, "changed x"},
		{"booleans", `{x: true}`, `{x: "true"}`, "changed x"},
		{"top-level keyed list", `[{name: a, v: 1}]`, `[{name: a, v: 2}]`, "changed [name=a].v"},
		{"top-level list by index", `[1, 2]`, `[1, 3]`, "changed [1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := value(t, tc.a), value(t, tc.b)
			got := Compare(a, b)
			if p := paths(got); p != tc.want {
				t.Errorf("got %q, want %q", p, tc.want)
			}
			if eq := Equal(a, b); eq != (len(got) == 0) {
				t.Errorf("Equal = %v but Compare found %q", eq, paths(got))
			}
		})
	}
}

func TestCompareValues(t *testing.T) {
	got := Compare(value(t, `{a: 1, b: {c: x}, l: [{name: n, v: 1}]}`), value(t, `{a: 2, d: [1], l: []}`))
	want := []FieldDiff{
		{Path: "a", Op: Changed, Desired: 1, Live: 2},
		{Path: "b", Op: Missing, Desired: map[string]any{"c": "x"}},
		{Path: "d", Op: LiveOnly, Live: []any{1}},
		{Path: "l[name=n]", Op: Missing, Desired: map[string]any{"name": "n", "v": 1}},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("got  %s\nwant %s", g, w)
	}
}

// TestEqual covers the comparisons the unchanged check, the planner and
// drift detection make with Equal.
func TestEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b  any
		equal bool
	}{
		{int64(3), float64(3), true},
		{int(3), int32(3), true},
		{json.Number("3"), int64(3), true},
		{float64(1.5), "1.5", true},
		{int64(3), "3", true},
		{int64(3), "3.0", true},
		{"3", "3.0", false}, // two strings compare as strings
		{int64(3), int64(4), false},
		{int64(9007199254740993), int64(9007199254740992), false}, // integers exactly
		{"NaN", "NaN", true},                                      // same string
		{float64(0), "NaN", false},
		{"0x10", int64(16), false},
		{"10m", "0.01", false}, // quantities are not numbers; Normalize makes them canonical
		{true, true, true},
		{true, "true", false},
		{"", nil, false},
		{nil, map[string]any{}, true},
		{nil, []any{}, true},
		{map[string]any{"a": int64(1), "b": nil}, map[string]any{"a": int64(1)}, true}, // no map length check
		{map[string]any{"a": int64(1)}, map[string]any{"a": int64(1), "b": int64(2)}, false},
		{map[string]any{"a": map[string]any{"b": []any{}}}, map[string]any{}, true},
		{[]any{"a", "b"}, []any{"b", "a"}, false},                                 // scalar lists keep their order
		{[]any{map[string]any{"v": "a"}}, []any{map[string]any{"v": "b"}}, false}, // unkeyed items by index
		{[]any{map[string]any{"name": "a"}, map[string]any{"name": "b"}}, []any{map[string]any{"name": "b"}, map[string]any{"name": "a"}}, true},
		{map[string]any{"x": int64(1)}, int64(1), false},
		{[]any{int64(1)}, int64(1), false},
	} {
		if got := Equal(tc.a, tc.b); got != tc.equal {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", tc.a, tc.b, got, tc.equal)
		}
		if got := Equal(tc.b, tc.a); got != tc.equal {
			t.Errorf("Equal(%#v, %#v) = %v, want %v (swapped)", tc.b, tc.a, got, tc.equal)
		}
	}
}

// The planner's comparison: Equal's rules, but keyed items in another
// order differ (a reordered pod template is a rollout).
func TestEqualInOrder(t *testing.T) {
	ab := []any{map[string]any{"name": "a", "v": int64(1)}, map[string]any{"name": "b"}}
	ba := []any{map[string]any{"name": "b"}, map[string]any{"name": "a", "v": "1"}}
	if !Equal(ab, ba) || EqualInOrder(ab, ba) || EqualInOrder(ba, ab) {
		t.Errorf("reordered keyed items: Equal %v, EqualInOrder %v", Equal(ab, ba), EqualInOrder(ab, ba))
	}
	// Items on one side only do not make an order: the rest compare.
	abc := append(append([]any(nil), ab...), map[string]any{"name": "c"})
	if EqualInOrder(ab, abc) || Equal(ab, abc) {
		t.Error("an added item is a difference")
	}
	a1 := []any{map[string]any{"name": "a", "v": int64(1)}}
	if !EqualInOrder(map[string]any{"env": ab, "x": nil}, map[string]any{"env": []any{ab[0], map[string]any{"name": "b"}}}) || !EqualInOrder(a1, []any{map[string]any{"name": "a", "v": "1"}}) {
		t.Error("the same items in the same order differ")
	}
	if got := Compare(ab, ba); len(got) != 0 {
		t.Errorf("Compare (drift) reports a reorder: %v", got)
	}
}

func TestEmpty(t *testing.T) {
	for _, v := range []any{nil, map[string]any{}, []any{}, map[string]any{"a": nil, "b": []any{map[string]any{}}}} {
		if !Empty(v) {
			t.Errorf("Empty(%v) = false", v)
		}
	}
	for _, v := range []any{"", int64(0), false, map[string]any{"a": ""}, []any{int64(0)}} {
		if Empty(v) {
			t.Errorf("Empty(%v) = true", v)
		}
	}
}

func TestRemovePath(t *testing.T) {
	for _, tc := range []struct {
		path, want string
	}{
		{"spec.replicas", `{"spec":{"l":[{"a":1,"b":2},{"a":3}]}}`},
		{"spec.l.0.a", `{"spec":{"l":[{"b":2},{"a":3}],"replicas":2}}`},
		{"spec.l.*.a", `{"spec":{"l":[{"b":2},{}],"replicas":2}}`},
		{"spec.l.1", `{"spec":{"l":[{"a":1,"b":2},null],"replicas":2}}`},
		{"spec.l.5.a", `{"spec":{"l":[{"a":1,"b":2},{"a":3}],"replicas":2}}`},
		{"spec.nothing.here", `{"spec":{"l":[{"a":1,"b":2},{"a":3}],"replicas":2}}`},
	} {
		o := value(t, `{spec: {replicas: 2, l: [{a: 1, b: 2}, {a: 3}]}}`)
		RemovePath(o, strings.Split(tc.path, "."))
		if got, _ := json.Marshal(o); string(got) != tc.want {
			t.Errorf("RemovePath %s: %s, want %s", tc.path, got, tc.want)
		}
	}
	// A list item removed by index compares as absent.
	a := value(t, `{l: [{a: 1}, {a: 2}]}`)
	RemovePath(a, []string{"l", "1"})
	if d := Compare(a, value(t, `{l: [{a: 1}]}`)); len(d) != 0 {
		t.Errorf("removed item compared: %s", paths(d))
	}
}
