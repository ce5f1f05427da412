package kubernetes

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/manifest"
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

// compareObject returns the drifted fields between what a sync would leave
// (wouldBe) and live: manifest.Compare of the normalised objects
// (manifest.Normalize: status, server-kept metadata and bookkeeping out);
// rules name fields to ignore. desired is the object pipe sends for Git:
// live fields owned by other field managers that it does not set at all
// are drift too (a sync would not remove them: server-side apply keeps
// other managers' fields), except labels and annotations, which
// controllers add freely. Secret and ConfigMap values are masked after the
// comparison.
func compareObject(k Key, desired, wouldBe, live *unstructured.Unstructured, rules []ignoreRule) []drift.FieldDiff {
	w := manifest.Normalize(wouldBe)
	l := manifest.Normalize(live)
	d := manifest.Normalize(desired)
	if d == nil {
		d = map[string]any{}
	}
	for _, r := range rules {
		if r.matches(k) {
			manifest.RemovePath(w, r.path)
			manifest.RemovePath(l, r.path)
			manifest.RemovePath(d, r.path)
		}
	}
	var diffs []drift.FieldDiff
	for _, f := range manifest.Compare(w, l) {
		diffs = append(diffs, drift.FieldDiff{Path: f.Path, Op: string(f.Op), Git: f.Desired, Live: f.Live})
	}
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
			if !ok || manifest.Empty(lv) {
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
				if manifest.Equal(g, v) {
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
			if !manifest.Equal(m[k], v) {
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
