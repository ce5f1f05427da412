package kubernetes

import (
	"strings"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// Key identifies an object (manifest.Key): group, kind, namespace and name,
// the namespace empty for cluster-scoped objects. Its String form,
// group:Kind:namespace:name, is the value of the pipecd.dev/resource-key
// annotation pipe writes.
type Key = manifest.Key

// sameObject reports whether a resource-key annotation names the object with
// key k: same group, kind and name; the namespace is compared as PipeCD does,
// "default" and "" being one for keys written by PipeCD v0.
func sameObject(annotation string, k Key) bool {
	a, err := manifest.ParseKey(annotation)
	if err != nil {
		return false
	}
	if !strings.EqualFold(a.Group, k.Group) || !strings.EqualFold(a.Kind, k.Kind) || a.Name != k.Name {
		return false
	}
	if a.Namespace == k.Namespace {
		return true
	}
	norm := func(ns string) string {
		if ns == "default" {
			return ""
		}
		return ns
	}
	// PipeCD v0 wrote "default" for cluster-scoped objects and for objects
	// without a namespace in Git.
	return k.Namespace == "" && a.Namespace == "default" || norm(a.Namespace) == norm(k.Namespace)
}
