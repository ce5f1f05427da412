package kubernetes

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// PreFlight checks that the apiserver accepts every object of a sync
// before anything is applied: each object goes through a server-side
// dry-run apply (validation, admission, field ownership), except those
// whose live state shows the apply would change nothing (see LivePlan).
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
	liveByKey := make(map[Key]*unstructured.Unstructured, len(live))
	for _, u := range live {
		liveByKey[manifest.KeyOf(u)] = u
	}
	var ask []*object
	for _, o := range prepared {
		if l := liveByKey[o.key]; l != nil && !opts.DryRunAll && !o.pending && appliedUnchanged(sameCommit(o.u, l), l) {
			continue
		}
		ask = append(ask, o)
	}
	_, err = c.dryRun(ctx, s, ask, opts)
	return err
}
