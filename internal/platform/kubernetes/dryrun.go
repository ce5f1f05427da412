package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// DryRunOptions describe a live plan.
type DryRunOptions struct {
	App            App
	ForceConflicts bool
	// DryRunAll makes LivePlan dry-run every object, also those whose live
	// state shows the sync would not change them.
	DryRunAll bool
	// CreateNamespace: see ApplyOptions; objects in it are shown as they
	// would be sent while it does not exist.
	CreateNamespace string
	// LiveNamespaces: see ApplyOptions.
	LiveNamespaces []string
	Events         Events
}

// DryRunResult is the object a sync would leave in the cluster.
type DryRunResult struct {
	Key Key
	// Object is the apiserver's answer to a server-side apply with
	// dryRun=All: defaults, admission mutations and merged fields of other
	// managers included. When the server cannot answer (Note says why:
	// the namespace or the CRD is created by the same sync) it is the
	// prepared object as it would be sent.
	Object *unstructured.Unstructured
	// Exists is whether the object exists in the cluster now.
	Exists bool
	Note   string
}

// DryRun asks the apiserver what applying objs would produce, without
// changing anything: one server-side apply with dryRun=All per object,
// concurrently. Errors (invalid manifest, conflict without
// ForceConflicts, forbidden...) are those Apply would meet, and fail the
// dry run as a whole.
func (c *Client) DryRun(ctx context.Context, objs []*unstructured.Unstructured, opts DryRunOptions) ([]DryRunResult, error) {
	s := newSink(opts.Events)
	ctx = withSink(ctx, s)
	prepared, err := c.prepare(ctx, objs, opts.App)
	if err != nil {
		return nil, err
	}
	return c.dryRun(ctx, s, prepared, opts)
}

func (c *Client) dryRun(ctx context.Context, s *sink, prepared []*object, opts DryRunOptions) ([]DryRunResult, error) {
	// Namespaces created by the same sync do not exist for the dry run.
	creating := map[string]bool{opts.CreateNamespace: opts.CreateNamespace != ""}
	for _, o := range prepared {
		if o.key.Group == "" && o.key.Kind == "Namespace" {
			creating[o.key.Name] = true
		}
	}
	out := make([]DryRunResult, len(prepared))
	errs := forAll(ctx, len(prepared), c.opts.Concurrency, func(ctx context.Context, i int) error {
		o := prepared[i]
		r := &out[i]
		r.Key = o.key
		if o.pending {
			r.Object, r.Note = o.u, "its CustomResourceDefinition is created by this sync: shown as it would be sent"
			return nil
		}
		var (
			obj  *unstructured.Unstructured
			code int
			err  error
		)
		if ann := o.u.GetAnnotations(); annotationEnabled(ann, LabelSyncReplace) || annotationEnabled(ann, LabelForceSyncReplace) {
			var action Action
			action, obj, err = c.replace(withObject(ctx, o.key), s, o, true)
			code = http.StatusOK
			if action == ActionCreated {
				code = http.StatusCreated
			}
		} else {
			obj, code, err = c.serverSideApply(withObject(ctx, o.key), s, o, opts.ForceConflicts, true)
		}
		if err != nil {
			if ns := o.u.GetNamespace(); ns != "" && isNamespaceNotFound(err) && creating[ns] {
				r.Object, r.Note = o.u, fmt.Sprintf("namespace %s is created by this sync: shown as it would be sent", ns)
				return nil
			}
			return err
		}
		r.Object, r.Exists = obj, code != http.StatusCreated
		return nil
	})
	var all []error
	for _, e := range errs {
		if e != nil {
			all = append(all, e)
		}
	}
	if len(all) > 0 {
		return nil, errors.Join(all...)
	}
	return out, nil
}
