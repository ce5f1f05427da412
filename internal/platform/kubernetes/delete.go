package kubernetes

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Delete deletes live objects (as returned by Live), Services first, then
// the others in reverse apply order (workloads before their config), each
// with a uid precondition so that an object re-created meanwhile is left
// alone. It returns the deleted keys and the joined errors of the others.
func (c *Client) Delete(ctx context.Context, objs []*unstructured.Unstructured, events Events) ([]Key, error) {
	if len(objs) == 0 {
		return nil, nil
	}
	s := newSink(events)
	ctx = withSink(ctx, s)
	flat := Flatten(Order(objs))
	for i, j := 0, len(flat)-1; i < j; i, j = i+1, j-1 {
		flat[i], flat[j] = flat[j], flat[i]
	}
	var services, rest []*unstructured.Unstructured
	for _, u := range flat {
		if isService(u) {
			services = append(services, u)
		} else {
			rest = append(rest, u)
		}
	}
	deleted, errs := c.prune(ctx, s, services)
	more, errs2 := c.prune(ctx, s, rest)
	return append(deleted, more...), errors.Join(append(errs, errs2...)...)
}

func isService(u *unstructured.Unstructured) bool {
	return u.GetKind() == "Service" && u.GroupVersionKind().Group == ""
}

// VariantOf returns the pipecd.dev/variant annotation of a live object
// ("primary" when it has none).
func VariantOf(u *unstructured.Unstructured) string {
	if v := u.GetAnnotations()[LabelVariant]; v != "" {
		return v
	}
	return VariantPrimary
}
