package kubernetes

import (
	"context"
	"encoding/base64"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// Managed is the live objects of every application in a cluster, listed at
// once (see ListManaged).
type Managed struct {
	// ByApp holds each application's live objects (by its
	// pipecd.dev/application annotation), unnormalised: managedFields
	// included.
	ByApp map[string][]*unstructured.Unstructured
	// Lists is the number of list requests the listing took.
	Lists int
}

// ListManaged lists the objects pipe (and PipeCD) manage in the cluster:
// one list request (paginated) per resource type the cluster serves, with
// the selector pipecd.dev/managed-by=piped, cluster-wide, or in
// opts.Namespaces one by one where listing cluster-wide is forbidden. The
// objects are grouped by their application annotation, so that checking
// hundreds of applications costs a few dozen requests, not a request per
// type per application. A type that may not be listed is skipped with an
// ActionWarning event.
func (c *Client) ListManaged(ctx context.Context, opts LiveOptions) (*Managed, error) {
	s := newSink(opts.Events)
	ctx = withSink(ctx, s)
	types, err := c.listableResources(ctx, s)
	if err != nil {
		return nil, err
	}
	namespaces := opts.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{c.namespace}
	}
	results := make([][]*unstructured.Unstructured, len(types))
	lists := make([]int, len(types))
	errs := forAll(ctx, len(types), c.opts.Concurrency, func(ctx context.Context, i int) error {
		var err error
		results[i], lists[i], err = c.listManagedType(ctx, s, types[i], namespaces)
		return err
	})
	if err := firstError(errs); err != nil {
		return nil, err
	}
	m := &Managed{ByApp: map[string][]*unstructured.Unstructured{}}
	for i, r := range results {
		m.Lists += lists[i]
		for _, u := range r {
			id := u.GetAnnotations()[LabelApplication]
			if id == "" || u.GetAnnotations()[LabelManagedBy] != ManagedByPiped {
				continue
			}
			m.ByApp[id] = append(m.ByApp[id], u)
		}
	}
	for _, objs := range m.ByApp {
		sort.Slice(objs, func(i, j int) bool { return manifest.KeyOf(objs[i]).String() < manifest.KeyOf(objs[j]).String() })
	}
	return m, nil
}

func (c *Client) listManagedType(ctx context.Context, s *sink, rs resourceScope, namespaces []string) ([]*unstructured.Unstructured, int, error) {
	requests := 0
	list := func(ns string) ([]*unstructured.Unstructured, error) {
		var items []*unstructured.Unstructured
		err := c.do(ctx, s, Key{}, "list "+rs.gvr.Resource, func(ctx context.Context) error {
			items = items[:0]
			opts := metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedByPiped, Limit: 500}
			for {
				requests++
				l, err := c.dynamic.Resource(rs.gvr).Namespace(ns).List(ctx, opts)
				if err != nil {
					return err
				}
				for i := range l.Items {
					u := &l.Items[i]
					if u.GetKind() == "" {
						u.SetGroupVersionKind(rs.gvr.GroupVersion().WithKind(strings.TrimSuffix(l.GetKind(), "List")))
					}
					items = append(items, u)
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
		return items, requests, nil
	}
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
		return nil, requests, nil
	case !apierrors.IsForbidden(err):
		return nil, requests, explainError(req, err)
	case !rs.namespaced:
		s.emit(Event{Action: ActionWarning, Message: explainError(req, err).Error() + "; its objects are not considered"})
		return nil, requests, nil
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
			return nil, requests, explainError(r, err)
		}
		out = append(out, items...)
	}
	return out, requests, nil
}

// Owned keeps the objects of live that are opts.App's (labels and
// annotations), as Live would have listed them.
func Owned(live []*unstructured.Unstructured, app App) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range live {
		if app.ownsObject(u) {
			out = append(out, u)
		}
	}
	return out
}

// DriftPair is one object compared for drift detection.
type DriftPair struct {
	Key Key
	// Desired is the object as pipe would send it (ownership labels and
	// annotations, namespace defaulted); nil for a live object no longer
	// in Git.
	Desired *unstructured.Unstructured
	// Live is the object in the cluster, unnormalised (managedFields
	// included); nil when it does not exist.
	Live *unstructured.Unstructured
	// WouldBe is what a sync would leave in the cluster: the answer of a
	// forced server-side dry-run apply of Desired (so fields taken by other
	// managers come back to Git's values, and fields pipe owns that Git no
	// longer sets are removed), or Live itself when Live shows that the
	// apply would change nothing. Nil when Desired is nil.
	WouldBe *unstructured.Unstructured
	// Owned is whether Live is the application's (false for an existing
	// object a sync would adopt).
	Owned bool
	// Prunable is set for a live object not in Git that a sync with prune
	// would delete (see Prunable); live objects not in Git that are not
	// prunable (made by a controller from a template) are not listed.
	Prunable bool
	// Note explains a WouldBe that is not the server's answer.
	Note string
	// DryRun says the server was asked (false: judged unchanged from the
	// managed fields).
	DryRun bool
}

// DriftPlan pairs the desired objects of app with its live objects (from
// ListManaged): a desired object whose live state shows that a sync would
// change nothing (see appliedUnchanged) is paired with itself; the others
// are dry-run with force, concurrently; existing objects that are not the
// application's are fetched one by one. Live objects not in Git that a
// sync with prune would delete come last, sorted by key.
func (c *Client) DriftPlan(ctx context.Context, objs, live []*unstructured.Unstructured, opts DryRunOptions) ([]DriftPair, error) {
	s := newSink(opts.Events)
	ctx = withSink(ctx, s)
	prepared, err := c.prepare(ctx, objs, opts.App)
	if err != nil {
		return nil, err
	}
	liveByKey := liveIndex(Owned(live, opts.App))
	opts.ForceConflicts = true
	obs, err := c.observe(ctx, s, prepared, liveByKey, opts)
	if err != nil {
		return nil, err
	}
	if err := c.fetchOthers(ctx, s, obs); err != nil {
		return nil, err
	}
	pairs := make([]DriftPair, len(obs))
	for i, r := range obs {
		pairs[i] = DriftPair{Key: r.o.key, Desired: r.o.u, Live: r.live, Owned: liveByKey[r.o.key] != nil,
			WouldBe: r.wouldBe, Note: r.note, DryRun: r.dryRun}
	}
	desired := make(map[Key]bool, len(prepared))
	for _, o := range prepared {
		desired[o.key] = true
	}
	var gone []DriftPair
	var notDesired []*unstructured.Unstructured
	for k, u := range liveByKey {
		if !desired[k] {
			notDesired = append(notDesired, u)
		}
	}
	for _, u := range Prunable(notDesired, desired, opts.App) {
		gone = append(gone, DriftPair{Key: manifest.KeyOf(u), Live: u, Owned: true, Prunable: true})
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].Key.String() < gone[j].Key.String() })
	return append(pairs, gone...), nil
}

// withStringData returns live with the stringData of desired (a Secret)
// read back from live's data: the apiserver merges stringData into data
// and keeps no stringData, while the applier's managed fields list
// stringData's keys. With it, appliedUnchanged can tell from live alone
// that applying desired again would change nothing (live data holds the
// base64 of desired's stringData values). Other objects are returned as
// they are.
func withStringData(live, desired *unstructured.Unstructured) *unstructured.Unstructured {
	gvk := desired.GroupVersionKind()
	sd, ok := desired.Object["stringData"].(map[string]any)
	if gvk.Group != "" || gvk.Kind != "Secret" || !ok || len(sd) == 0 {
		return live
	}
	data, _ := live.Object["data"].(map[string]any)
	back := make(map[string]any, len(sd))
	for k := range sd {
		enc, ok := data[k].(string)
		if !ok {
			return live
		}
		dec, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return live
		}
		back[k] = string(dec)
	}
	out := live.DeepCopy()
	out.Object["stringData"] = back
	return out
}
