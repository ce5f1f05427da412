package render

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// Source says where an object was rendered from.
type Source struct {
	// File is the file the object came from, relative to the repository
	// root with forward slashes: a manifest file, the kustomization of the
	// application, or a chart template. For a chart that is not in the
	// repository it is the template path as Helm names it
	// ("chart/templates/deployment.yaml").
	File string
	// Chart is the chart rendered, when Helm rendered the object: a
	// directory of the repository, "repository/name@version", or
	// "remote@ref:path" for a chart in another Git repository.
	Chart string
	// Doc is the 0-based index of the object's document among the
	// non-empty documents of File (for kustomize and Helm, the index in the
	// rendered output).
	Doc int
	// Line is the 1-based line of File where the document starts; 0 when
	// unknown (rendered output).
	Line int
	// Item is the index of the object in a List document; -1 otherwise.
	Item int
}

func (s Source) String() string {
	var b strings.Builder
	b.WriteString(s.File)
	if s.Line > 0 {
		b.WriteString(":" + strconv.Itoa(s.Line))
	}
	b.WriteString(" (document " + strconv.Itoa(s.Doc+1))
	if s.Item >= 0 {
		b.WriteString(", item " + strconv.Itoa(s.Item+1))
	}
	if s.Chart != "" {
		b.WriteString(", chart " + s.Chart)
	}
	b.WriteString(")")
	return b.String()
}

// Object is one desired Kubernetes object. Its key has the namespace
// filled in for namespaced objects (the namespace override, else the
// object's, else the renderer's default namespace) and empty for
// cluster-scoped ones.
type Object struct {
	Key    manifest.Key
	Object *unstructured.Unstructured
	Source Source
}

// Method is how an application's manifests were produced.
type Method string

const (
	MethodPlain     Method = "plain"
	MethodKustomize Method = "kustomize"
	MethodHelm      Method = "helm"
)

// Manifests is the desired state of a Kubernetes application: its objects
// in render order (file order then document order for plain manifests,
// kustomize's output order, Helm's install order), each key once.
type Manifests struct {
	Method  Method
	Objects []*Object
	byKey   map[manifest.Key]*Object
	scopes  scopes
}

// Get returns the object with the key, or nil.
func (m *Manifests) Get(k manifest.Key) *Object { return m.byKey[k] }

// Keys returns the keys in render order.
func (m *Manifests) Keys() []manifest.Key {
	keys := make([]manifest.Key, len(m.Objects))
	for i, o := range m.Objects {
		keys[i] = o.Key
	}
	return keys
}

// ClusterScoped reports whether objects of the group and kind are
// cluster-scoped, as rendering decided it: well-known cluster-scoped kinds
// and custom resources whose CustomResourceDefinition (with scope Cluster)
// is part of the same render.
func (m *Manifests) ClusterScoped(gk schema.GroupKind) bool { return m.scopes.clusterScoped(gk) }

// rendered is an object read from some source, before keys are assigned.
type rendered struct {
	obj *unstructured.Unstructured
	src Source
}

// finish applies the namespace override, computes keys and refuses
// duplicates.
func finish(method Method, objs []rendered, namespace, defaultNamespace string) (*Manifests, error) {
	if defaultNamespace == "" {
		defaultNamespace = "default"
	}
	m := &Manifests{Method: method, Objects: make([]*Object, 0, len(objs)), byKey: make(map[manifest.Key]*Object, len(objs))}
	m.scopes = newScopes(objs)
	for _, r := range objs {
		gvk := r.obj.GroupVersionKind()
		cluster := m.scopes.clusterScoped(gvk.GroupKind())
		if namespace != "" && !cluster {
			r.obj.SetNamespace(namespace)
		}
		k := manifest.Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: r.obj.GetNamespace(), Name: r.obj.GetName()}
		switch {
		case cluster:
			k.Namespace = ""
		case k.Namespace == "":
			k.Namespace = defaultNamespace
		}
		if prev, ok := m.byKey[k]; ok {
			return nil, &Error{File: r.src.File, Line: r.src.Line,
				Err: fmt.Errorf("duplicate object %s: defined in %s and in %s", k, prev.Source, r.src)}
		}
		o := &Object{Key: k, Object: r.obj, Source: r.src}
		m.byKey[k] = o
		m.Objects = append(m.Objects, o)
	}
	return m, nil
}
