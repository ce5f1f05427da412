package kubernetes

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/drift"
)

// ignoreRule is a parsed driftDetection.ignoreFields entry.
type ignoreRule struct {
	group, kind, namespace, name string
	path                         []string
}

func parseIgnoreRules(fields []string) []ignoreRule {
	var out []ignoreRule
	for _, f := range fields {
		r, ok := config.ParseIgnoreField(f)
		if !ok {
			continue // validation reports it
		}
		gv, err := schema.ParseGroupVersion(r.APIVersion)
		if err != nil {
			continue
		}
		out = append(out, ignoreRule{group: gv.Group, kind: r.Kind, namespace: r.Namespace, name: r.Name,
			path: strings.Split(strings.TrimPrefix(r.FieldPath, "."), ".")})
	}
	return out
}

func (r ignoreRule) matches(k Key) bool {
	return r.group == k.Group && r.kind == k.Kind && r.namespace == k.Namespace && r.name == k.Name
}

// removeFieldPath deletes the field at path (dotted, numeric segments index
// lists) from obj, if present.
func removeFieldPath(obj any, path []string) {
	if len(path) == 0 {
		return
	}
	switch v := obj.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(v, path[0])
			return
		}
		removeFieldPath(v[path[0]], path[1:])
	case []any:
		i, err := strconv.Atoi(path[0])
		if err != nil || i < 0 || i >= len(v) {
			if path[0] == "*" {
				for _, item := range v {
					removeFieldPath(item, path[1:])
				}
			}
			return
		}
		if len(path) == 1 {
			v[i] = nil // keeps the other indexes; nil compares as absent
			return
		}
		removeFieldPath(v[i], path[1:])
	}
}

// compareObject returns the drifted fields between what a sync would leave
// (wouldBe) and live. Both are normalised first (status and server-kept
// metadata out, see Normalize); rules name fields to ignore.
// desired is the object Git sets: live fields owned by other field
// managers that Git does not set at all are drift too (a sync would not
// remove them: server-side apply keeps other managers' fields), except
// labels and annotations, which controllers add freely.
func compareObject(k Key, desired, wouldBe, live *unstructured.Unstructured, rules []ignoreRule) []drift.FieldDiff {
	w := Normalize(wouldBe).Object
	l := Normalize(live).Object
	d := map[string]any{}
	if desired != nil {
		d = desired.DeepCopy().Object
		if k.Group == "" && k.Kind == "Secret" {
			mergeStringData(d)
		}
	}
	for _, r := range rules {
		if r.matches(k) {
			removeFieldPath(w, r.path)
			removeFieldPath(l, r.path)
			removeFieldPath(d, r.path)
		}
	}
	var diffs []drift.FieldDiff
	diffValues(nil, w, l, &diffs)
	owners := map[string][]string{}
	reported := map[string]bool{}
	for _, f := range diffs {
		reported[f.Path] = true
	}
	for _, m := range live.GetManagedFields() {
		if m.Manager == FieldManager || m.Subresource == "status" || m.FieldsV1 == nil {
			continue
		}
		var fs map[string]any
		if json.Unmarshal(m.FieldsV1.Raw, &fs) != nil {
			continue
		}
		walkOwned(fs, nil, l, d, func(path string, lv any, inGit bool) {
			owners[path] = appendUnique(owners[path], m.Manager)
			if inGit || reported[path] || strings.Contains(path, "metadata") {
				return
			}
			reported[path] = true
			diffs = append(diffs, drift.FieldDiff{Path: path, Op: drift.FieldLiveOnly, Live: lv})
		}, m.Operation == metav1.ManagedFieldsOperationUpdate || m.Operation == metav1.ManagedFieldsOperationApply)
	}
	for i := range diffs {
		diffs[i].Managers = managersOf(diffs[i].Path, owners)
	}
	if isMasked(k) {
		for i := range diffs {
			if top, _, _ := strings.Cut(diffs[i].Path, "."); top == "data" || top == "stringData" || top == "binaryData" {
				diffs[i].Git, diffs[i].Live = maskValue(diffs[i].Git), maskValue(diffs[i].Live)
			}
		}
	}
	sort.SliceStable(diffs, func(i, j int) bool { return diffs[i].Path < diffs[j].Path })
	return diffs
}

// managersOf returns the managers owning path or a field under or above
// it.
func managersOf(path string, owners map[string][]string) []string {
	var out []string
	for p, ms := range owners {
		if p == path || strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") ||
			strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			for _, m := range ms {
				out = appendUnique(out, m)
			}
		}
	}
	sort.Strings(out)
	return out
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// mergeStringData moves a Secret's stringData into data, base64-encoded,
// as the apiserver does on write.
func mergeStringData(obj map[string]any) {
	sd, _ := obj["stringData"].(map[string]any)
	if len(sd) == 0 {
		return
	}
	data, _ := obj["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		data[k] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprint(v)))
	}
	obj["data"] = data
	delete(obj, "stringData")
}

func isMasked(k Key) bool {
	return k.Group == "" && (k.Kind == "Secret" || k.Kind == "ConfigMap")
}

func maskValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k := range x {
			out[k] = drift.Mask
		}
		return out
	}
	return drift.Mask
}

// walkOwned walks a managed-fields set over the live object and the object
// Git sets, calling fn for each field the set owns (at the highest level
// where Git does not set it, else at the leaves).
func walkOwned(fs map[string]any, path []string, live, git any, fn func(path string, live any, inGit bool), _ bool) {
	for key, sub := range fs {
		if key == "." {
			continue
		}
		subm, _ := sub.(map[string]any)
		switch {
		case strings.HasPrefix(key, "f:"):
			name := key[2:]
			lm, _ := live.(map[string]any)
			gm, _ := git.(map[string]any)
			lv, ok := lm[name]
			if !ok || isEmpty(lv) {
				continue
			}
			p := append(append([]string(nil), path...), name)
			gv, inGit := gm[name]
			if _, isList := lv.([]any); !inGit && isList && fieldChildren(subm) > 0 {
				walkOwned(subm, p, lv, nil, fn, true) // list items one by one
				continue
			}
			if !inGit || fieldChildren(subm) == 0 {
				fn(joinPath(p), lv, inGit)
				continue
			}
			walkOwned(subm, p, lv, gv, fn, true)
		case strings.HasPrefix(key, "k:"):
			var keys map[string]any
			if json.Unmarshal([]byte(key[2:]), &keys) != nil || len(path) == 0 {
				continue
			}
			ll, _ := live.([]any)
			gl, _ := git.([]any)
			li := findItem(ll, keys)
			if li == nil {
				continue
			}
			gi := findItem(gl, keys)
			p := append([]string(nil), path...)
			p[len(p)-1] += itemLabel(keys)
			if gi == nil || fieldChildren(subm) == 0 {
				fn(joinPath(p), li, gi != nil)
				continue
			}
			walkOwned(subm, p, li, gi, fn, true)
		case strings.HasPrefix(key, "v:"):
			var v any
			if json.Unmarshal([]byte(key[2:]), &v) != nil || len(path) == 0 {
				continue
			}
			gl, _ := git.([]any)
			in := false
			for _, g := range gl {
				if valuesEqual(g, v) {
					in = true
				}
			}
			p := append([]string(nil), path...)
			p[len(p)-1] += "[" + fmt.Sprint(v) + "]"
			fn(joinPath(p), v, in)
		}
	}
}

func fieldChildren(fs map[string]any) int {
	n := len(fs)
	if _, ok := fs["."]; ok {
		n--
	}
	return n
}

func findItem(list []any, keys map[string]any) any {
	for _, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		all := true
		for k, v := range keys {
			if !valuesEqual(m[k], v) {
				all = false
				break
			}
		}
		if all {
			return it
		}
	}
	return nil
}

func itemLabel(keys map[string]any) string {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + fmt.Sprint(keys[k])
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func joinPath(p []string) string { return strings.Join(p, ".") }

// diffValues compares a (what a sync leaves) with b (live) and appends the
// differing fields. Null, empty maps and empty lists count as absent;
// numbers compare by value, and a number equals its decimal string.
func diffValues(path []string, a, b any, out *[]drift.FieldDiff) {
	ae, be := isEmpty(a), isEmpty(b)
	// A keyed list emptied on one side is reported item by item.
	if al, ok := a.([]any); ok && be && !ae && itemKey(al) != "" {
		b = []any{}
		be = false
	} else if bl, ok := b.([]any); ok && ae && !be && itemKey(bl) != "" {
		a = []any{}
		ae = false
	}
	_, am := a.(map[string]any)
	_, bm := b.(map[string]any)
	switch {
	case ae && be:
		return
	case am && bm:
		// both maps: compare field by field below
	case be:
		*out = append(*out, drift.FieldDiff{Path: joinPath(path), Op: drift.FieldMissing, Git: a})
		return
	case ae:
		*out = append(*out, drift.FieldDiff{Path: joinPath(path), Op: drift.FieldLiveOnly, Live: b})
		return
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(av)+len(bv))
		for k := range av {
			keys = append(keys, k)
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			diffValues(append(append([]string(nil), path...), k), av[k], bv[k], out)
		}
		return
	case []any:
		bv, ok := b.([]any)
		if !ok {
			break
		}
		diffLists(path, av, bv, out)
		return
	}
	if !valuesEqual(a, b) {
		*out = append(*out, drift.FieldDiff{Path: joinPath(path), Op: drift.FieldChanged, Git: a, Live: b})
	}
}

// listKeys are the fields that identify list items, tried in order: the
// merge keys of the Kubernetes lists people edit.
var listKeys = []string{"name", "mountPath", "containerPort", "port", "devicePath", "ip", "topologyKey", "key"}

// diffLists matches items by a key field when every item of both lists
// has a distinct one (so reordering is not drift), else by index.
func diffLists(path []string, a, b []any, out *[]drift.FieldDiff) {
	if key := itemKey(a, b); key != "" {
		bi := map[string]any{}
		for _, it := range b {
			bi[fmt.Sprint(it.(map[string]any)[key])] = it
		}
		seen := map[string]bool{}
		label := func(v string) []string {
			p := append([]string(nil), path...)
			if len(p) == 0 {
				p = []string{""}
			}
			p[len(p)-1] += "[" + key + "=" + v + "]"
			return p
		}
		for _, it := range a {
			v := fmt.Sprint(it.(map[string]any)[key])
			seen[v] = true
			diffValues(label(v), it, bi[v], out)
		}
		for _, it := range b {
			v := fmt.Sprint(it.(map[string]any)[key])
			if !seen[v] {
				diffValues(label(v), nil, it, out)
			}
		}
		return
	}
	if len(a) != len(b) {
		// An atomic list (args, command) is one value.
		allScalar := true
		for _, l := range [][]any{a, b} {
			for _, it := range l {
				switch it.(type) {
				case map[string]any, []any:
					allScalar = false
				}
			}
		}
		if allScalar {
			*out = append(*out, drift.FieldDiff{Path: joinPath(path), Op: drift.FieldChanged, Git: a, Live: b})
			return
		}
	}
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y any
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		p := append([]string(nil), path...)
		p[len(p)-1] += "[" + strconv.Itoa(i) + "]"
		diffValues(p, x, y, out)
	}
}

func itemKey(lists ...[]any) string {
	for _, k := range listKeys {
		ok := true
		for _, l := range lists {
			seen := map[string]bool{}
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

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, e := range x {
			if !isEmpty(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !isEmpty(e) {
				return false
			}
		}
		return true
	}
	return false
}

// equalValues compares decoded values: numbers by value (YAML gives
// float64, the apiserver int64), a number and its decimal string equal.
func valuesEqual(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return false
		}
		var diffs []drift.FieldDiff
		diffValues([]string{""}, av, bv, &diffs)
		return len(diffs) == 0
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !valuesEqual(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return as == bs
		}
	}
	x, xok := numberOf(a)
	y, yok := numberOf(b)
	if xok && yok {
		return x == y
	}
	return reflect.DeepEqual(a, b)
}

func numberOf(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}
