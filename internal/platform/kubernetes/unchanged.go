package kubernetes

import (
	"encoding/json"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// appliedUnchanged reports whether a server-side apply of desired (field
// manager pipe) would leave live exactly as it is, judging from live alone:
// pipe's Apply entry in live's managedFields must list exactly the fields
// desired sets (so the apply removes nothing), and live must hold desired's
// value in each of them (so it changes nothing). Defaults and admission
// mutations are already in live, which went through them when it was last
// written. Values compare with manifest.Equal, as the planner compares the
// objects it shows: what Equal does not tell apart (a number and its
// decimal string, an empty value and none, keyed items in another order)
// would not show in the plan either, whether the server is asked or not.
// Whenever the comparison is not certain (a quantity written differently,
// an atomic list the server defaulted into, another API version) it
// answers false and the caller asks the server.
func appliedUnchanged(desired, live *unstructured.Unstructured) bool {
	var entry *metav1.ManagedFieldsEntry
	for i, m := range live.GetManagedFields() {
		if m.Manager != FieldManager || m.Operation != metav1.ManagedFieldsOperationApply {
			continue
		}
		if entry != nil || m.APIVersion != desired.GetAPIVersion() || m.FieldsType != "FieldsV1" || m.FieldsV1 == nil {
			return false
		}
		entry = &live.GetManagedFields()[i]
	}
	if entry == nil {
		return false
	}
	var fs map[string]any
	if err := json.Unmarshal(entry.FieldsV1.Raw, &fs); err != nil {
		return false
	}
	// Identity is not in the field set.
	d := make(map[string]any, len(desired.Object))
	for k, v := range desired.Object {
		if k != "apiVersion" && k != "kind" {
			d[k] = v
		}
	}
	if md, ok := d["metadata"].(map[string]any); ok {
		md2 := make(map[string]any, len(md))
		for k, v := range md {
			if k != "name" && k != "namespace" {
				md2[k] = v
			}
		}
		if len(md2) == 0 {
			delete(d, "metadata")
		} else {
			d["metadata"] = md2
		}
	}
	return covers(fs, d, live.Object)
}

// children are the entries of a field set node other than "." (the node
// itself).
func children(fs map[string]any) int {
	n := len(fs)
	if _, ok := fs["."]; ok {
		n--
	}
	return n
}

// covers reports whether the field set fs is exactly the fields of d, and
// l has d's values there (manifest.Equal). The field sets are compared
// exactly: a field of d that is null or empty must still be in fs and in l
// (the apply would set it).
func covers(fs map[string]any, d, l any) bool {
	switch dv := d.(type) {
	case map[string]any:
		lm, ok := l.(map[string]any)
		if !ok {
			return false
		}
		if children(fs) == 0 { // atomic, or empty
			return manifest.Equal(dv, lm)
		}
		for k, v := range dv {
			sub, ok := fs["f:"+k].(map[string]any)
			if !ok {
				return false
			}
			lv, ok := lm[k]
			if !ok || !covers(sub, v, lv) {
				return false
			}
		}
		for k := range fs {
			if k == "." {
				continue
			}
			name, ok := strings.CutPrefix(k, "f:")
			if !ok {
				return false
			}
			if _, ok := dv[name]; !ok {
				return false // the apply would remove it
			}
		}
		return true
	case []any:
		ll, ok := l.([]any)
		if !ok {
			return false
		}
		if children(fs) == 0 { // atomic list
			return manifest.Equal(dv, ll)
		}
		if children(fs) != len(dv) {
			return false
		}
		used := map[string]bool{}
		for _, item := range dv {
			key, sub, liveItem := matchItem(fs, used, item, ll)
			if key == "" || !covers(sub, item, liveItem) {
				return false
			}
			used[key] = true
		}
		return true
	default:
		return children(fs) == 0 && manifest.Equal(d, l)
	}
}

// matchItem finds the field set entry of a list item ("k:{...}" for an
// associative list, "v:..." for a set) and the live item with the same key.
// A key field the desired item leaves out matches (the server defaulted it,
// e.g. a port's protocol).
func matchItem(fs map[string]any, used map[string]bool, item any, live []any) (string, map[string]any, any) {
	for k, sub := range fs {
		if used[k] {
			continue
		}
		subm, _ := sub.(map[string]any)
		switch {
		case strings.HasPrefix(k, "k:"):
			var keyFields map[string]any
			im, ok := item.(map[string]any)
			if !ok || json.Unmarshal([]byte(k[2:]), &keyFields) != nil {
				continue
			}
			matched := false
			for f, v := range keyFields {
				iv, present := im[f]
				if present && !manifest.Equal(iv, v) {
					matched = false
					break
				}
				matched = matched || present
			}
			if !matched {
				continue
			}
			for _, li := range live {
				lm, ok := li.(map[string]any)
				if !ok {
					continue
				}
				all := true
				for f, v := range keyFields {
					if !manifest.Equal(lm[f], v) {
						all = false
						break
					}
				}
				if all {
					return k, subm, li
				}
			}
			return "", nil, nil
		case strings.HasPrefix(k, "v:"):
			var v any
			if json.Unmarshal([]byte(k[2:]), &v) != nil || !manifest.Equal(item, v) {
				continue
			}
			for _, li := range live {
				if manifest.Equal(li, v) {
					return k, subm, li
				}
			}
			return "", nil, nil
		}
	}
	return "", nil, nil
}
