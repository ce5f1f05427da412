package plan

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Object is one Kubernetes object of a desired or live state.
type Object struct {
	// Key is PipeCD's resource key, group:Kind:namespace:name, with the
	// namespace filled in for namespaced objects and empty for
	// cluster-scoped ones (render.Key.String(), or KeyOf for live objects).
	Key    string
	Object *unstructured.Unstructured
	// Source says where a desired object was rendered from (file:line);
	// empty for live objects.
	Source string
}

// KeyOf is the resource key of an object as the API server returns it
// (its namespace set when it is namespaced). It matches the keys render
// gives desired objects.
func KeyOf(u *unstructured.Unstructured) string {
	gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
	return gv.Group + ":" + u.GetKind() + ":" + u.GetNamespace() + ":" + u.GetName()
}

// ObjectsOf keys objects returned by the API server with KeyOf.
func ObjectsOf(us []*unstructured.Unstructured) []Object {
	out := make([]Object, 0, len(us))
	for _, u := range us {
		if u == nil {
			continue
		}
		out = append(out, Object{Key: KeyOf(u), Object: u})
	}
	return out
}

// key is a parsed resource key.
type key struct{ group, kind, namespace, name string }

func parseKey(s string) key {
	p := strings.SplitN(s, ":", 4)
	for len(p) < 4 {
		p = append(p, "")
	}
	return key{p[0], p[1], p[2], p[3]}
}

// Live is the observed state of an application for a live plan.
type Live struct {
	// Objects are the application's objects in the cluster.
	Objects []Object
	// DryRun are the results of a server-side dry-run apply of the desired
	// objects, keyed like them: the desired state with the server's
	// defaults, admission and the fields of other managers.
	DryRun []Object
}

// NewLive keys what the Kubernetes target returned.
func NewLive(live, dryRun []*unstructured.Unstructured) *Live {
	return &Live{Objects: ObjectsOf(live), DryRun: ObjectsOf(dryRun)}
}

// byKey indexes objects by key; the first object of a key wins.
func byKey(objs []Object) map[string]Object {
	m := make(map[string]Object, len(objs))
	for _, o := range objs {
		if _, dup := m[o.Key]; !dup && o.Object != nil {
			m[o.Key] = o
		}
	}
	return m
}
