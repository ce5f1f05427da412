package manifest

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Key identifies a Kubernetes object the way PipeCD's resource keys do:
// group, kind, namespace and name. The namespace is empty for
// cluster-scoped objects; rendering fills in the default namespace of
// namespaced objects that name none, and the API server returns namespaced
// objects with theirs, so a rendered object and the same object read back
// have the same key. Its String form is the value of the
// pipecd.dev/resource-key annotation.
type Key struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// String is PipeCD's resource-key format, group:Kind:namespace:name (e.g.
// apps:Deployment:default:web, :Service:default:web, :Namespace::web).
func (k Key) String() string {
	return k.Group + ":" + k.Kind + ":" + k.Namespace + ":" + k.Name
}

// GroupKind returns the key's group and kind.
func (k Key) GroupKind() schema.GroupKind { return schema.GroupKind{Group: k.Group, Kind: k.Kind} }

// Readable is the key in words for messages: "Deployment web/api",
// "Namespace web", "Widget.example.com shop/w1" (the group is named
// unless it is one of Kubernetes' own).
func (k Key) Readable() string {
	kind := k.Kind
	if k.Group != "" && !BuiltinGroup(k.Group) {
		kind += "." + k.Group
	}
	if k.Namespace == "" {
		return kind + " " + k.Name
	}
	return kind + " " + k.Namespace + "/" + k.Name
}

// KeyOf returns the key of an object as it is: its namespace field as is
// (objects read from the API server have theirs when namespaced).
func KeyOf(u *unstructured.Unstructured) Key {
	gvk := u.GroupVersionKind()
	return Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// ParseKey parses a resource key. It accepts pipe's (and current PipeCD's)
// group:Kind:namespace:name and PipeCD v0's apiVersion:Kind:namespace:name
// (apps/v1:Deployment:default:web, v1:ConfigMap:default:cfg), dropping the
// version. The kind and the name must not be empty.
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

// BuiltinGroup reports whether a group is one of Kubernetes' own, whose
// kinds read well without the group.
func BuiltinGroup(g string) bool {
	switch g {
	case "", "apps", "batch", "autoscaling", "policy":
		return true
	}
	return strings.HasSuffix(g, ".k8s.io")
}
