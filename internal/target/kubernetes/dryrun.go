package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// DryRunOptions describe a live plan.
type DryRunOptions struct {
	App            App
	ForceConflicts bool
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
	creating := map[string]bool{}
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
		code := 0
		ann := o.u.GetAnnotations()
		var obj *unstructured.Unstructured
		var err error
		if annotationEnabled(ann, LabelSyncReplace) || annotationEnabled(ann, LabelForceSyncReplace) {
			var action Action
			action, obj, err = c.replace(withObject(ctx, o.key), s, o, true)
			_ = action
			code = http.StatusOK
		} else {
			obj, code, err = c.dryRunApply(withObject(ctx, o.key), s, o, opts.ForceConflicts)
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

func (c *Client) dryRunApply(ctx context.Context, s *sink, o *object, force bool) (*unstructured.Unstructured, int, error) {
	body, err := o.u.MarshalJSON()
	if err != nil {
		return nil, 0, &Error{Op: "dry-run", Key: o.key, Reason: ReasonInvalid, Msg: fmt.Sprintf("dry-run %s: %v", o.key.Readable(), err), Err: err}
	}
	var (
		out  *unstructured.Unstructured
		code int
	)
	err = c.do(ctx, s, o.key, "dry-run "+o.key.Readable(), func(ctx context.Context) error {
		req := c.rest.Patch(types.ApplyPatchType).
			AbsPath(path(o.gvr, o.u.GetNamespace(), o.u.GetName())).
			Param("fieldManager", FieldManager).
			Param("fieldValidation", "Strict").
			Param("dryRun", "All").
			Body(body)
		if force {
			req = req.Param("force", "true")
		}
		var err error
		out, code, err = decode(req.Do(ctx))
		return err
	})
	if err != nil {
		return nil, code, explainError(request{op: "dry-run", verb: "patch", key: o.key, gvr: o.gvr, host: c.host}, err)
	}
	return out, code, nil
}

// Pair is one object of a live plan: what is in the cluster and what a sync
// would leave there, both normalised (see Normalize).
type Pair struct {
	Key Key
	// Live is the object in the cluster; nil when it does not exist.
	Live *unstructured.Unstructured
	// Desired is what a sync would leave (the dry-run answer); nil when the
	// object is the application's but no longer in Git (a prune deletes it).
	Desired *unstructured.Unstructured
	// Owned is whether the live object carries the application's
	// ownership labels and annotations (false for an object pipe would
	// adopt).
	Owned bool
	// Note explains a Desired that is not the server's answer.
	Note string
}

// LivePlan is the desired objects paired with the live ones: first the
// desired objects in apply order, then the application's live objects that
// are not desired (sorted by key).
type LivePlan struct {
	Pairs []Pair
}

// LivePlan runs DryRun and Live concurrently and pairs their objects by
// key. Live objects that exist but are not the application's (so not
// listed by Live) are fetched one by one.
func (c *Client) LivePlan(ctx context.Context, objs []*unstructured.Unstructured, opts DryRunOptions) (*LivePlan, error) {
	s := newSink(opts.Events)
	ctx = withSink(ctx, s)
	prepared, err := c.prepare(ctx, objs, opts.App)
	if err != nil {
		return nil, err
	}
	var (
		wg               sync.WaitGroup
		live             []*unstructured.Unstructured
		liveErr, dryErr  error
		dry              []DryRunResult
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		lo := LiveOptions{Namespaces: opts.LiveNamespaces, events: s}
		if lo.Namespaces == nil {
			lo.Namespaces = namespacesOf(prepared, c.namespace)
		}
		live, liveErr = c.live(ctx, opts.App, lo)
	}()
	dry, dryErr = c.dryRun(ctx, s, prepared, opts)
	wg.Wait()
	if dryErr != nil {
		return nil, dryErr
	}
	if liveErr != nil {
		return nil, liveErr
	}

	liveByKey := make(map[Key]*unstructured.Unstructured, len(live))
	for _, u := range live {
		liveByKey[KeyOf(u)] = u
	}
	byKey := make(map[Key]*object, len(prepared))
	for _, o := range prepared {
		byKey[o.key] = o
	}
	us := make([]*unstructured.Unstructured, len(dry))
	dryByU := make(map[*unstructured.Unstructured]DryRunResult, len(dry))
	for i, d := range dry {
		us[i] = byKey[d.Key].u
		dryByU[us[i]] = d
	}
	plan := &LivePlan{}
	var missing []int // existing objects that are not the application's
	for _, u := range Flatten(Order(us)) {
		d := dryByU[u]
		p := Pair{Key: d.Key, Desired: Normalize(d.Object), Note: d.Note}
		if l := liveByKey[d.Key]; l != nil {
			p.Live, p.Owned = Normalize(l), true
		} else if d.Exists {
			missing = append(missing, len(plan.Pairs))
		}
		plan.Pairs = append(plan.Pairs, p)
	}
	errs := forAll(ctx, len(missing), c.opts.Concurrency, func(ctx context.Context, i int) error {
		p := &plan.Pairs[missing[i]]
		o := byKey[p.Key]
		var got *unstructured.Unstructured
		err := c.do(ctx, s, p.Key, "get "+p.Key.Readable(), func(ctx context.Context) error {
			var err error
			got, err = c.dynamic.Resource(o.gvr).Namespace(o.u.GetNamespace()).Get(ctx, o.u.GetName(), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				got, err = nil, nil
			}
			return err
		})
		if err != nil {
			return explainError(request{op: "get", verb: "get", key: p.Key, gvr: o.gvr, host: c.host}, err)
		}
		if got != nil {
			p.Live = Normalize(got)
		}
		return nil
	})
	if err := firstError(errs); err != nil {
		return nil, err
	}

	desired := make(map[Key]bool, len(prepared))
	for _, o := range prepared {
		desired[o.key] = true
	}
	var gone []Pair
	for _, u := range live {
		k := KeyOf(u)
		if desired[k] {
			continue
		}
		gone = append(gone, Pair{Key: k, Live: Normalize(u), Owned: true})
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].Key.String() < gone[j].Key.String() })
	plan.Pairs = append(plan.Pairs, gone...)
	return plan, nil
}

// Prunable returns the keys of the plan's live objects that a sync with
// prune would delete (see the package function Prunable).
func (p *LivePlan) Prunable(app App) []Key {
	var live []*unstructured.Unstructured
	desired := map[Key]bool{}
	for _, pr := range p.Pairs {
		if pr.Desired != nil {
			desired[pr.Key] = true
		} else if pr.Live != nil {
			live = append(live, pr.Live)
		}
	}
	var out []Key
	for _, u := range Prunable(live, desired, app) {
		out = append(out, KeyOf(u))
	}
	return out
}

// Normalize returns a copy of u without what the cluster alone decides and
// what changes with every sync, so that a live object and a dry-run answer
// compare on what the manifests say: status; metadata uid, resourceVersion,
// generation, creationTimestamp, managedFields, selfLink and deletion
// fields; the annotations kubectl.kubernetes.io/last-applied-configuration
// and deployment.kubernetes.io/revision; the pipecd.dev/commit-hash label
// and annotation. Empty labels/annotations maps are dropped.
func Normalize(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	out := u.DeepCopy()
	delete(out.Object, "status")
	md, ok := out.Object["metadata"].(map[string]any)
	if !ok {
		return out
	}
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
		"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		delete(md, f)
	}
	if ann, ok := md["annotations"].(map[string]any); ok {
		delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
		delete(ann, "deployment.kubernetes.io/revision")
		delete(ann, LabelCommitHash)
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	if l, ok := md["labels"].(map[string]any); ok {
		delete(l, LabelCommitHash)
		if len(l) == 0 {
			delete(md, "labels")
		}
	}
	return out
}
