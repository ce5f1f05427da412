package manifest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// commitHash is the pipecd.dev/commit-hash label and annotation: the
// deployed commit, rewritten by every sync.
const commitHash = "pipecd.dev/commit-hash"

// ignoredMetadata reports whether a metadata field is maintained by the API
// server; such fields say nothing about the desired state (manifests in Git
// never have them, and PipeCD's drift detection ignores them).
func ignoredMetadata(f string) bool {
	switch f {
	case "managedFields", "resourceVersion", "generation", "uid", "creationTimestamp",
		"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds":
		return true
	}
	return false
}

// ignoredAnnotation reports whether an annotation is bookkeeping that
// changes on every deployment or is written by the server: the ownership
// annotations PipeCD (and pipe) put on every applied object, kubectl's
// last-applied configuration and the Deployment controller's revision.
// Directives people write (pipecd.dev/order, sync-by-replace,
// server-side-apply, ignore-drift-detection...) are kept: changing them
// changes how the object is applied.
func ignoredAnnotation(k string) bool {
	switch k {
	case "pipecd.dev/managed-by", "pipecd.dev/piped", "pipecd.dev/application",
		"pipecd.dev/resource-key", commitHash, "pipecd.dev/original-api-version",
		"kubectl.kubernetes.io/last-applied-configuration",
		"deployment.kubernetes.io/revision":
		return true
	}
	return false
}

// ignoredLabel reports whether a label is bookkeeping that changes on
// every deployment: the commit hash. The other ownership labels
// (managed-by, piped, application) are kept: they select the application's
// objects, and they are the same on every deployment.
func ignoredLabel(k string) bool { return k == commitHash }

// Normalize returns a deep copy of an object's content in the form every
// comparison of pipe uses (the planner's diffs and equality, the live plan,
// drift detection), so that two versions of an object compare on what the
// manifests say:
//
//   - status is removed, and the metadata the API server maintains
//     (managedFields, resourceVersion, generation, uid,
//     creationTimestamp, selfLink, deletionTimestamp,
//     deletionGracePeriodSeconds);
//   - the bookkeeping annotations are removed: pipecd.dev/managed-by,
//     piped, application, resource-key, commit-hash and
//     original-api-version, kubectl.kubernetes.io/last-applied-configuration
//     and deployment.kubernetes.io/revision; and the pipecd.dev/commit-hash
//     label; an annotations or labels map left empty is removed;
//   - null values are removed (the API server treats them as absent);
//   - numbers are int64 when integral (and below 2^53), float64 otherwise,
//     so 3 and 3.0 (YAML versus JSON decoding) are the same value;
//   - the values of every resources.limits and resources.requests map
//     (containers of pods and pod templates, PVC specs) are canonical
//     quantities as the server stores them ("1.5Gi" is "1536Mi", 1 is "1",
//     0.5 is "500m");
//   - a core Secret's stringData is merged into data, base64-encoded, as
//     the server does on write; stringData wins on a key both set. Values
//     that are numbers or booleans are encoded as written in YAML (5432 is
//     "5432"); maps and lists, which the server rejects, are left out.
//
// Empty maps and lists other than labels and annotations are kept (a diff
// shows them); Equal treats them as absent. Normalize of nil is nil.
func Normalize(u *unstructured.Unstructured) map[string]any {
	if u == nil {
		return nil
	}
	obj, _ := clean(u.Object).(map[string]any)
	if obj == nil {
		obj = map[string]any{}
	}
	delete(obj, "status")
	if md, ok := obj["metadata"].(map[string]any); ok {
		for f := range md {
			if ignoredMetadata(f) {
				delete(md, f)
			}
		}
		for _, f := range []struct {
			field   string
			ignored func(string) bool
		}{{"annotations", ignoredAnnotation}, {"labels", ignoredLabel}} {
			m, ok := md[f.field].(map[string]any)
			if !ok {
				continue
			}
			for k := range m {
				if f.ignored(k) {
					delete(m, k)
				}
			}
			if len(m) == 0 {
				delete(md, f.field)
			}
		}
	}
	if IsSecret(obj) {
		mergeStringData(obj)
	}
	canonicalQuantities(obj)
	return obj
}

// IsSecret reports whether an object's content is a core Secret.
func IsSecret(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	api, _ := obj["apiVersion"].(string)
	return kind == "Secret" && api == "v1"
}

// clean deep-copies a decoded JSON/YAML value, dropping nulls and
// normalising numbers.
func clean(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if e == nil {
				continue
			}
			m[k] = clean(e)
		}
		return m
	case []any:
		s := make([]any, 0, len(x))
		for _, e := range x {
			s = append(s, clean(e))
		}
		return s
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case float32:
		return integral(float64(x))
	case float64:
		return integral(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return integral(f)
		}
		return string(x)
	}
	return v
}

// integral is f as an int64 when it is a whole number that float64 holds
// exactly.
func integral(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// mergeStringData moves a Secret's stringData into data, base64-encoded.
func mergeStringData(obj map[string]any) {
	sd, ok := obj["stringData"].(map[string]any)
	delete(obj, "stringData")
	if !ok || len(sd) == 0 {
		return
	}
	data, _ := obj["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case int64, float64, bool:
			s = fmt.Sprint(x)
		default:
			continue
		}
		data[k] = base64.StdEncoding.EncodeToString([]byte(s))
	}
	if len(data) > 0 {
		obj["data"] = data
	}
}

// canonicalQuantities rewrites the values of every `resources.limits` and
// `resources.requests` map below v to canonical quantities.
func canonicalQuantities(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "resources" {
				if r, ok := e.(map[string]any); ok {
					for _, f := range []string{"limits", "requests"} {
						if q, ok := r[f].(map[string]any); ok {
							for name, val := range q {
								q[name] = canonicalQuantity(val)
							}
						}
					}
				}
			}
			canonicalQuantities(e)
		}
	case []any:
		for _, e := range x {
			canonicalQuantities(e)
		}
	}
}

// canonicalQuantity is a quantity's canonical string; a value that is not
// a quantity is returned as is.
func canonicalQuantity(v any) any {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case int64:
		return resource.NewQuantity(x, resource.DecimalSI).String()
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return v
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return v
	}
	return q.String()
}
