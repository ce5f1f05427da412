package plan

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// Object is one Kubernetes object of a desired or live state.
type Object struct {
	// Key is PipeCD's resource key, group:Kind:namespace:name
	// (manifest.Key.String()), with the namespace filled in for namespaced
	// objects and empty for cluster-scoped ones: the rendered object's key,
	// or manifest.KeyOf of an object the API server returned.
	Key    string
	Object *unstructured.Unstructured
	// Source says where a desired object was rendered from (file:line);
	// empty for live objects.
	Source string
}

// ObjectsOf keys objects returned by the API server with manifest.KeyOf
// (their namespace is set when they are namespaced), which gives the keys
// render gives desired objects.
func ObjectsOf(us []*unstructured.Unstructured) []Object {
	out := make([]Object, 0, len(us))
	for _, u := range us {
		if u == nil {
			continue
		}
		out = append(out, Object{Key: manifest.KeyOf(u).String(), Object: u})
	}
	return out
}

// keyOf parses an object's resource key (the zero key if it is
// malformed, which no rendered or listed object's is).
func keyOf(s string) manifest.Key {
	k, _ := manifest.ParseKey(s)
	return k
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
