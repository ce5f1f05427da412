package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// LiveOptions narrow Live.
type LiveOptions struct {
	// Namespaces are listed one by one when listing a type cluster-wide is
	// forbidden (a namespace-scoped CI identity); nil means the client's
	// namespace.
	Namespaces []string
	Events     Events

	events *sink
	// only restricts the listing to these resources (Apply without
	// Prune only needs the desired types).
	only []resourceScope
}

type resourceScope struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}

// Live returns the application's live objects: for every resource type the
// cluster serves (that can be listed), one list request with the
// application's label selector, keeping the objects whose ownership
// annotations name the application too. A type that may not be listed is
// skipped with an ActionWarning event.
func (c *Client) Live(ctx context.Context, app App, opts LiveOptions) ([]*unstructured.Unstructured, error) {
	if err := app.validate(); err != nil {
		return nil, &Error{Op: "list", Reason: ReasonConfig, Msg: "list live objects: " + err.Error()}
	}
	if opts.events == nil {
		opts.events = newSink(opts.Events)
	}
	ctx = withSink(ctx, opts.events)
	return c.live(ctx, app, opts)
}

func (c *Client) live(ctx context.Context, app App, opts LiveOptions) ([]*unstructured.Unstructured, error) {
	types := opts.only
	if types == nil {
		var err error
		if types, err = c.listableResources(ctx, opts.events); err != nil {
			return nil, err
		}
	}
	namespaces := opts.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{c.namespace}
	}
	results := make([][]*unstructured.Unstructured, len(types))
	errs := forAll(ctx, len(types), c.opts.Concurrency, func(ctx context.Context, i int) error {
		var err error
		results[i], err = c.listType(ctx, opts.events, app, types[i], namespaces)
		return err
	})
	if err := firstError(errs); err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

// listType lists one type with the application's selector: cluster-wide,
// or namespace by namespace when that is forbidden.
func (c *Client) listType(ctx context.Context, s *sink, app App, rs resourceScope, namespaces []string) ([]*unstructured.Unstructured, error) {
	list := func(ns string) ([]*unstructured.Unstructured, error) {
		var items []*unstructured.Unstructured
		err := c.do(ctx, s, Key{}, "list "+rs.gvr.Resource, func(ctx context.Context) error {
			items = items[:0]
			opts := metav1.ListOptions{LabelSelector: app.Selector(), Limit: 500}
			for {
				l, err := c.dynamic.Resource(rs.gvr).Namespace(ns).List(ctx, opts)
				if err != nil {
					return err
				}
				for i := range l.Items {
					u := &l.Items[i]
					if u.GetKind() == "" { // lists carry the kind on the list only
						u.SetGroupVersionKind(rs.gvr.GroupVersion().WithKind(strings.TrimSuffix(l.GetKind(), "List")))
					}
					if app.ownsObject(u) {
						items = append(items, u)
					}
				}
				if l.GetContinue() == "" {
					return nil
				}
				opts.Continue = l.GetContinue()
			}
		})
		return items, err
	}
	req := request{op: "list", verb: "list", gvr: rs.gvr, host: c.host}
	items, err := list("")
	if err == nil {
		return items, nil
	}
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
		return nil, nil // the type went away or cannot be listed
	case !apierrors.IsForbidden(err):
		return nil, explainError(req, err)
	case !rs.namespaced:
		s.emit(Event{Action: ActionWarning, Message: explainError(req, err).Error() + "; its objects are not considered"})
		return nil, nil
	}
	var out []*unstructured.Unstructured
	for _, ns := range namespaces {
		items, err := list(ns)
		if err != nil {
			r := req
			r.key.Namespace = ns
			if apierrors.IsForbidden(err) {
				s.emit(Event{Action: ActionWarning, Message: explainError(r, err).Error() + "; its objects are not considered"})
				continue
			}
			return nil, explainError(r, err)
		}
		out = append(out, items...)
	}
	return out, nil
}

// skippedResources are never an application's: high-volume records and
// objects controllers create.
var skippedResources = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:                    true,
	{Group: "events.k8s.io", Resource: "events"}:       true,
	{Group: "", Resource: "componentstatuses"}:         true,
	{Group: "coordination.k8s.io", Resource: "leases"}: true,
}

// listableResources are the resource types to look for live objects in:
// the preferred version of every type that can be listed and deleted.
func (c *Client) listableResources(ctx context.Context, s *sink) ([]resourceScope, error) {
	lists, err := discovery.ServerPreferredResources(c.disco)
	if err != nil {
		var gde *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &gde) || len(lists) == 0 {
			return nil, c.discoveryError(schema.GroupVersionKind{}, err)
		}
		for gv, e := range gde.Groups {
			s.emit(Event{Action: ActionWarning, Message: fmt.Sprintf("API group %s is unavailable (%v); its objects are not considered", gv, e)})
		}
	}
	var out []resourceScope
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || skippedResources[gv.WithResource(r.Name).GroupResource()] {
				continue
			}
			if !hasVerbs(r.Verbs, "list", "delete") {
				continue
			}
			out = append(out, resourceScope{gvr: gv.WithResource(r.Name), namespaced: r.Namespaced})
		}
	}
	return out, nil
}

func hasVerbs(verbs metav1.Verbs, want ...string) bool {
	for _, w := range want {
		found := false
		for _, v := range verbs {
			if v == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// resourcesOf returns the distinct resource types of objs.
func resourcesOf(objs []*object) []resourceScope {
	seen := map[schema.GroupVersionResource]bool{}
	out := []resourceScope{}
	for _, o := range objs {
		if o.pending || seen[o.gvr] {
			continue
		}
		seen[o.gvr] = true
		out = append(out, resourceScope{gvr: o.gvr, namespaced: o.namespaced})
	}
	return out
}

// namespacesOf returns the distinct namespaces of objs and def.
func namespacesOf(objs []*object, def string) []string {
	seen := map[string]bool{def: true}
	out := []string{def}
	for _, o := range objs {
		if ns := o.u.GetNamespace(); ns != "" && !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

// Prunable selects the live objects a prune deletes: those of app (labels
// and annotations) that are not desired, whose pipecd.dev/resource-key
// annotation names the object itself (a foreign object that copied the
// labels, or an object created by a controller from a template, is never
// touched), that are not being deleted and have no controller owner.
// The result is sorted in reverse apply order (dependents first).
func Prunable(live []*unstructured.Unstructured, desired map[Key]bool, app App) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range live {
		k := manifest.KeyOf(u)
		switch {
		case desired[k],
			!app.ownsObject(u),
			!sameObject(u.GetAnnotations()[LabelResourceKey], k),
			u.GetDeletionTimestamp() != nil,
			metav1.GetControllerOfNoCopy(u) != nil:
			continue
		}
		out = append(out, u)
	}
	steps := Order(out)
	flat := Flatten(steps)
	// Reverse: workloads before their config, CRs before CRDs, namespaces last.
	for i, j := 0, len(flat)-1; i < j; i, j = i+1, j-1 {
		flat[i], flat[j] = flat[j], flat[i]
	}
	return flat
}

// prune deletes objs (uid precondition: a re-created object is left alone),
// reporting each.
func (c *Client) prune(ctx context.Context, s *sink, objs []*unstructured.Unstructured) ([]Key, []error) {
	errs := forAll(ctx, len(objs), c.opts.Concurrency, func(ctx context.Context, i int) error {
		u := objs[i]
		k := manifest.KeyOf(u)
		m, err := c.mapping(ctx, u.GroupVersionKind())
		if err != nil {
			return err
		}
		uid := u.GetUID()
		policy := metav1.DeletePropagationBackground
		err = c.do(ctx, s, k, "delete "+k.Readable(), func(ctx context.Context) error {
			err := c.dynamic.Resource(m.Resource).Namespace(u.GetNamespace()).Delete(withObject(ctx, k), u.GetName(),
				metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}})
			if apierrors.IsNotFound(err) {
				return nil
			}
			if apierrors.IsConflict(err) { // the uid precondition failed: re-created meanwhile
				s.emit(Event{Action: ActionWarning, Key: k, Message: "re-created while pruning; left alone"})
				return nil
			}
			return err
		})
		if err != nil {
			err = explainError(request{op: "prune", verb: "delete", key: k, gvr: m.Resource, host: c.host}, err)
			s.emit(Event{Action: ActionFailed, Key: k, Message: err.Error()})
			return err
		}
		s.emit(Event{Action: ActionPruned, Key: k})
		return nil
	})
	var pruned []Key
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, err)
		} else {
			pruned = append(pruned, manifest.KeyOf(objs[i]))
		}
	}
	return pruned, failed
}
