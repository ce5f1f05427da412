package plan

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ignoredMetadata reports whether a metadata field is maintained by the API
// server; such fields say nothing about the desired state (PipeCD compares
// desired manifests, which never have them, and its drift detection ignores
// them).
func ignoredMetadata(f string) bool {
	switch f {
	case "managedFields", "resourceVersion", "generation", "uid", "creationTimestamp",
		"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds":
		return true
	}
	return false
}

// ignoredAnnotation reports whether a metadata annotation is bookkeeping that
// changes on every deployment or is written by the server: the ownership
// annotations PipeCD (and pipe) put on every applied object, kubectl's
// last-applied configuration and the Deployment controller's revision.
// Directives people write (pipecd.dev/order, sync-by-replace,
// server-side-apply, ignore-drift-detection...) are kept: changing them
// changes how the object is applied.
func ignoredAnnotation(k string) bool {
	switch k {
	case "pipecd.dev/managed-by", "pipecd.dev/piped", "pipecd.dev/application",
		"pipecd.dev/resource-key", "pipecd.dev/commit-hash", "pipecd.dev/original-api-version",
		"kubectl.kubernetes.io/last-applied-configuration",
		"deployment.kubernetes.io/revision":
		return true
	}
	return false
}

// normalize returns a deep copy of an object's content as the planner
// compares and shows it:
//
//   - status and the server-maintained metadata (ignoredMetadata) are
//     removed, and the bookkeeping annotations (ignoredAnnotation); an
//     annotations or labels map left empty is removed;
//   - null values are removed (the API server treats them as absent);
//   - numbers are int64 when integral, float64 otherwise, so 3 and 3.0
//     (YAML versus JSON decoding) compare equal;
//   - resource quantities of containers are canonical ("1.5Gi" is
//     "1536Mi", 1 is "1"), as the server stores them;
//   - a Secret's stringData is merged into data, base64-encoded, as the
//     server does on write (stringData wins on a shared key).
func normalize(u *unstructured.Unstructured) map[string]any {
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
		if ann, ok := md["annotations"].(map[string]any); ok {
			for k := range ann {
				if ignoredAnnotation(k) {
					delete(ann, k)
				}
			}
		}
		for _, f := range []string{"annotations", "labels"} {
			if m, ok := md[f].(map[string]any); ok && len(m) == 0 {
				delete(md, f)
			}
		}
	}
	if isSecret(obj) {
		mergeStringData(obj)
	}
	canonicalQuantities(obj)
	return obj
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
		return number(float64(x))
	case float64:
		return number(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return number(f)
		}
		return string(x)
	}
	return v
}

func number(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// isSecret reports whether a normalised object is a core Secret.
func isSecret(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	api, _ := obj["apiVersion"].(string)
	return kind == "Secret" && api == "v1"
}

func mergeStringData(obj map[string]any) {
	sd, ok := obj["stringData"].(map[string]any)
	if !ok {
		delete(obj, "stringData")
		return
	}
	data, _ := obj["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		s, ok := v.(string)
		if !ok {
			continue
		}
		data[k] = base64.StdEncoding.EncodeToString([]byte(s))
	}
	delete(obj, "stringData")
	if len(data) > 0 {
		obj["data"] = data
	}
}

// canonicalQuantities rewrites the values of every `resources.limits` and
// `resources.requests` map below v (containers of pods and pod templates,
// PVC specs) to canonical quantities.
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

func canonicalQuantity(v any) any {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case int64:
		q := resource.NewQuantity(x, resource.DecimalSI)
		return q.String()
	case float64:
		q, err := resource.ParseQuantity(strconv.FormatFloat(x, 'f', -1, 64))
		if err != nil {
			return v
		}
		return q.String()
	default:
		return v
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return v
	}
	return q.String()
}
