package kubernetes

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Key identifies an object like PipeCD's resource keys do (and like
// internal/render's keys): group, kind, namespace and name; the namespace is
// empty for cluster-scoped objects. Its String form,
// group:Kind:namespace:name, is the value of the pipecd.dev/resource-key
// annotation pipe writes.
type Key struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// String is group:Kind:namespace:name (e.g. apps:Deployment:web:api,
// :Namespace::web).
func (k Key) String() string {
	return k.Group + ":" + k.Kind + ":" + k.Namespace + ":" + k.Name
}

// GroupKind returns the key's group and kind.
func (k Key) GroupKind() schema.GroupKind { return schema.GroupKind{Group: k.Group, Kind: k.Kind} }

// Readable is the key in words for messages: "Deployment web/api",
// "Namespace web", "Widget.example.com shop/w1".
func (k Key) Readable() string {
	kind := k.Kind
	if k.Group != "" && !builtinGroup(k.Group) {
		kind += "." + k.Group
	}
	if k.Namespace == "" {
		return kind + " " + k.Name
	}
	return kind + " " + k.Namespace + "/" + k.Name
}

// KeyOf returns the key of an object as it is (its namespace field as is).
func KeyOf(u *unstructured.Unstructured) Key {
	gvk := u.GroupVersionKind()
	return Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// ParseKey parses a resource key. It accepts pipe's (and current PipeCD's)
// group:Kind:namespace:name and PipeCD v0's apiVersion:Kind:namespace:name
// (apps/v1:Deployment:default:web), dropping the version.
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 || parts[1] == "" || parts[3] == "" {
		return Key{}, fmt.Errorf("malformed resource key %q: want group:Kind:namespace:name", s)
	}
	group := parts[0]
	if i := strings.IndexByte(group, '/'); i >= 0 { // apiVersion: group/version
		group = group[:i]
	} else if isCoreVersion(group) { // "v1" of PipeCD v0 is the core group
		group = ""
	}
	return Key{Group: group, Kind: parts[1], Namespace: parts[2], Name: parts[3]}, nil
}

// isCoreVersion reports whether s looks like a bare API version ("v1",
// "v1beta1"), which in a PipeCD v0 key means the core group.
func isCoreVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] < '0' || s[1] > '9' {
		return false
	}
	return !strings.Contains(s, ".")
}

// builtinGroup reports whether a group is one of Kubernetes' own, whose
// kinds read well without the group.
func builtinGroup(g string) bool {
	switch g {
	case "", "apps", "batch", "autoscaling", "policy":
		return true
	}
	return strings.HasSuffix(g, ".k8s.io")
}

// sameObject reports whether a resource-key annotation names the object with
// key k: same group, kind and name; the namespace is compared as PipeCD does,
// "default" and "" being one for keys written by PipeCD v0.
func sameObject(annotation string, k Key) bool {
	a, err := ParseKey(annotation)
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
