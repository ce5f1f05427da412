package plan

import "github.com/gitops-pipe/pipe/internal/render"

// FromRender adapts rendered manifests to the planner's objects, in render
// order: the key in PipeCD's form, the source as file:line (document N).
// A nil m gives no objects.
func FromRender(m *render.Manifests) []Object {
	if m == nil {
		return nil
	}
	out := make([]Object, 0, len(m.Objects))
	for _, o := range m.Objects {
		out = append(out, Object{Key: o.Key.String(), Object: o.Object, Source: o.Source.String()})
	}
	return out
}
