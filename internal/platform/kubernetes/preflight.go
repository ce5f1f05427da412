package kubernetes

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// PreFlight checks that the apiserver accepts every object of a sync
// before anything is applied: each object goes through a server-side
// dry-run apply (validation, admission, field ownership), except those
// whose live state shows the apply would change nothing (observe, as a live
// plan observes them).
// Only the application's live objects of the desired types are listed.
// It returns nil, or the errors of every refused object joined (each an
// *Error naming the object and, for an invalid one, its fields).
func (c *Client) PreFlight(ctx context.Context, objs []*unstructured.Unstructured, opts DryRunOptions) error {
	s := newSink(opts.Events)
	ctx = withSink(ctx, s)
	prepared, err := c.prepare(ctx, objs, opts.App)
	if err != nil {
		return err
	}
	lo := LiveOptions{Namespaces: opts.LiveNamespaces, events: s, only: resourcesOf(prepared)}
	if lo.Namespaces == nil {
		lo.Namespaces = namespacesOf(prepared, c.namespace)
	}
	live, err := c.live(ctx, opts.App, lo)
	if err != nil {
		return err
	}
	_, err = c.observe(ctx, s, prepared, liveIndex(live), opts)
	return err
}
