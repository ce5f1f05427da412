package kubernetes

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// object is a desired object made ready for the cluster.
type object struct {
	key Key
	u   *unstructured.Unstructured
	// gvr is the resource; for a custom resource whose CRD is part of the
	// same set and not served yet it is resolved after the CRD step
	// (pending).
	gvr        schema.GroupVersionResource
	namespaced bool
	pending    bool
}

// crdScopes returns, for each kind defined by a CRD among objs, whether it
// is namespaced, and which versions it serves.
type crdKind struct {
	namespaced bool
	plural     string
	versions   map[string]bool
}

func crdKinds(objs []*unstructured.Unstructured) map[schema.GroupKind]crdKind {
	out := map[schema.GroupKind]crdKind{}
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		if gvk.Group != "apiextensions.k8s.io" || gvk.Kind != "CustomResourceDefinition" {
			continue
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		plural, _, _ := unstructured.NestedString(u.Object, "spec", "names", "plural")
		scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
		ck := crdKind{namespaced: scope != "Cluster", plural: plural, versions: map[string]bool{}}
		spec, _, _ := unstructured.NestedMap(u.Object, "spec")
		for _, v := range slice(spec, "versions") {
			if name, _ := v["name"].(string); name != "" {
				ck.versions[name] = true
			}
		}
		out[schema.GroupKind{Group: group, Kind: kind}] = ck
	}
	return out
}

// validateManifest checks what the cluster cannot be asked about: an
// apiVersion, a kind and a name.
func validateManifest(i int, u *unstructured.Unstructured) error {
	what := func() string {
		if n := u.GetName(); n != "" {
			return fmt.Sprintf("object %d (%q)", i+1, n)
		}
		return fmt.Sprintf("object %d", i+1)
	}
	switch {
	case u.GetKind() == "":
		return &Error{Op: "prepare", Reason: ReasonInvalid, Msg: what() + ": no kind", Hint: "every manifest needs apiVersion, kind and metadata.name"}
	case u.GetAPIVersion() == "":
		return &Error{Op: "prepare", Key: manifest.KeyOf(u), Reason: ReasonInvalid, Msg: what() + " (" + u.GetKind() + "): no apiVersion", Hint: "every manifest needs apiVersion, kind and metadata.name"}
	case u.GetName() == "":
		msg := what() + " (" + u.GetKind() + "): no metadata.name"
		if u.GetGenerateName() != "" {
			msg += " (generateName is not supported: objects are tracked by name)"
		}
		return &Error{Op: "prepare", Key: manifest.KeyOf(u), Reason: ReasonInvalid, Msg: msg, Hint: "every manifest needs apiVersion, kind and metadata.name"}
	}
	return nil
}

// prepare copies the desired objects and makes them ready to send:
// resource type resolved (kinds must be served by the cluster or defined by
// a CRD among objs), namespace defaulted (or cleared for cluster-scoped
// kinds), ownership labels and annotations for app, config hash on pod
// templates. All problems are reported together; nothing is sent but
// discovery.
func (c *Client) prepare(ctx context.Context, objs []*unstructured.Unstructured, app App) ([]*object, error) {
	if err := app.validate(); err != nil {
		return nil, &Error{Op: "prepare", Reason: ReasonConfig, Msg: "prepare objects: " + err.Error()}
	}
	var errs []error
	for i, u := range objs {
		if err := validateManifest(i, u); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	crds := crdKinds(objs)
	out := make([]*object, len(objs))
	seen := map[Key]int{}
	for i, in := range objs {
		u := in.DeepCopy()
		gvk := u.GroupVersionKind()
		o := &object{u: u}
		m, err := c.mapping(ctx, gvk)
		switch {
		case err == nil:
			o.gvr, o.namespaced = m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace
		case errors.Is(err, ErrNoKind):
			ck, ok := crds[gvk.GroupKind()]
			if !ok {
				errs = append(errs, err)
				continue
			}
			if !ck.versions[gvk.Version] {
				errs = append(errs, &Error{Op: "prepare", Key: manifest.KeyOf(u), Reason: ReasonNoKind,
					Msg: fmt.Sprintf("%s %q: version %s is not served by its CustomResourceDefinition in the manifests", gvk.Kind, u.GetName(), gvk.Version)})
				continue
			}
			o.pending, o.namespaced = true, ck.namespaced
			o.gvr = gvk.GroupVersion().WithResource(ck.plural)
		default:
			return nil, err
		}
		if o.namespaced {
			if u.GetNamespace() == "" {
				u.SetNamespace(c.namespace)
			}
		} else {
			u.SetNamespace("")
		}
		o.key = manifest.KeyOf(u)
		if j, dup := seen[o.key]; dup {
			errs = append(errs, &Error{Op: "prepare", Key: o.key, Reason: ReasonInvalid,
				Msg: fmt.Sprintf("%s is defined twice (objects %d and %d)", o.key.Readable(), j+1, i+1)})
			continue
		}
		seen[o.key] = i
		labels, annotations := app.ownership(o.key, u.GetAPIVersion())
		u.SetLabels(merge(u.GetLabels(), labels))
		u.SetAnnotations(merge(u.GetAnnotations(), annotations))
		out[i] = o
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	us := make([]*unstructured.Unstructured, len(out))
	for i, o := range out {
		us[i] = o.u
	}
	if err := annotateConfigHash(us); err != nil {
		return nil, &Error{Op: "prepare", Reason: ReasonInvalid, Msg: "config hash: " + err.Error(), Err: err}
	}
	return out, nil
}

func merge(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = make(map[string]string, len(src))
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// Prepare returns the objects as pipe would send them for app: namespace
// defaulted, ownership labels and annotations, config hash. It asks the
// cluster's discovery for the scope of each kind.
func (c *Client) Prepare(ctx context.Context, objs []*unstructured.Unstructured, app App) ([]*unstructured.Unstructured, error) {
	prepared, err := c.prepare(ctx, objs, app)
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(prepared))
	for i, o := range prepared {
		out[i] = o.u
	}
	return out, nil
}
