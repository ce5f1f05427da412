package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// ApplyOptions describe a sync.
type ApplyOptions struct {
	// App owns the objects: its ID goes into the ownership labels and
	// annotations and selects what Prune may delete.
	App App
	// ForceConflicts takes over fields owned by other field managers
	// (server-side apply's force); without it such a conflict fails the
	// object with ErrConflict naming the fields and managers.
	ForceConflicts bool
	// Prune deletes the application's live objects that are not in the
	// desired set (see Prunable), after everything was applied.
	Prune bool
	// CreateNamespace, when set, is created first if it does not exist
	// (PipeCD's autoCreateNamespace, for input.namespace).
	CreateNamespace string
	// LiveNamespaces are where to list the application's live objects
	// (for Prune and to tell unchanged objects) when listing cluster-wide
	// is forbidden; nil means the namespaces of the desired objects and the
	// client's namespace.
	LiveNamespaces []string
	// CRDTimeout bounds the wait for CRDs of the set to be Established;
	// 0 means one minute.
	CRDTimeout time.Duration
	Events     Events
}

// ObjectResult is what happened to one desired object.
type ObjectResult struct {
	Key Key
	// Action is ActionCreated, ActionConfigured, ActionUnchanged,
	// ActionReplaced or ActionRecreated when it was applied; "" when it was
	// not (Err says why, or nil when an earlier failure stopped the sync).
	Action Action
	// Object is the object the apiserver answered with.
	Object *unstructured.Unstructured
	Err    error
}

// Result is what a sync did, also when it failed half-way: Applied and
// NotApplied say where it stopped, for the deployment record.
type Result struct {
	// Objects are the desired objects in apply order.
	Objects []ObjectResult
	// Pruned are the deleted objects; PruneErrors the ones that could not
	// be deleted.
	Pruned      []Key
	PruneErrors []error
	// NamespaceCreated is set when CreateNamespace was created.
	NamespaceCreated bool
}

// Applied returns the keys of the objects that were applied.
func (r *Result) Applied() []Key {
	var out []Key
	for _, o := range r.Objects {
		if o.Action != "" {
			out = append(out, o.Key)
		}
	}
	return out
}

// NotApplied returns the keys of the objects that were not applied.
func (r *Result) NotApplied() []Key {
	var out []Key
	for _, o := range r.Objects {
		if o.Action == "" {
			out = append(out, o.Key)
		}
	}
	return out
}

// Keys returns the keys of all desired objects, in apply order.
func (r *Result) Keys() []Key {
	out := make([]Key, len(r.Objects))
	for i, o := range r.Objects {
		out[i] = o.Key
	}
	return out
}

// Apply syncs the desired objects: it prepares them (see Prepare), creates
// CreateNamespace if needed, applies them step by step in Order (each step
// concurrently, CRDs waited for before the objects that need them), then
// prunes if asked. It does not wait for readiness (see Wait).
//
// On failure it stops starting new objects, lets those in flight finish,
// and returns the Result so far with an *Error: the Result's Applied and
// NotApplied tell where it stopped. Nothing is sent when the objects are
// invalid or of a kind the cluster does not serve.
func (c *Client) Apply(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (*Result, error) {
	s := newSink(opts.Events)
	ctx = withSink(ctx, s)
	res := &Result{}
	prepared, err := c.prepare(ctx, objs, opts.App)
	if err != nil {
		return res, err
	}
	byU := make(map[*unstructured.Unstructured]*object, len(prepared))
	us := make([]*unstructured.Unstructured, len(prepared))
	for i, o := range prepared {
		byU[o.u] = o
		us[i] = o.u
	}
	steps := Order(us)
	index := map[Key]int{}
	for _, st := range steps {
		for _, u := range st.Objects {
			o := byU[u]
			index[o.key] = len(res.Objects)
			res.Objects = append(res.Objects, ObjectResult{Key: o.key})
		}
	}

	if opts.CreateNamespace != "" {
		created, err := c.ensureNamespace(ctx, s, opts.CreateNamespace)
		if err != nil {
			return res, err
		}
		res.NamespaceCreated = created
	}

	// The application's live objects: their resourceVersions tell an
	// unchanged object from a configured one, and with Prune the ones that
	// left Git.
	liveOpts := LiveOptions{Namespaces: opts.LiveNamespaces, events: s}
	if liveOpts.Namespaces == nil {
		liveOpts.Namespaces = namespacesOf(prepared, c.namespace)
	}
	if !opts.Prune {
		liveOpts.only = resourcesOf(prepared)
	}
	live, err := c.live(ctx, opts.App, liveOpts)
	if err != nil {
		return res, err
	}
	liveRV := make(map[Key]string, len(live))
	for _, u := range live {
		liveRV[KeyOf(u)] = u.GetResourceVersion()
	}

	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return res, explainError(request{op: "apply"}, err)
		}
		stepObjs := make([]*object, len(st.Objects))
		for i, u := range st.Objects {
			stepObjs[i] = byU[u]
		}
		errs, _ := forEach(ctx, len(stepObjs), c.opts.Concurrency, func(ctx context.Context, i int) error {
			o := stepObjs[i]
			r := &res.Objects[index[o.key]]
			if o.pending {
				if err := c.resolvePending(ctx, o); err != nil {
					r.Err = err
					return err
				}
			}
			action, obj, err := c.applyOne(withObject(ctx, o.key), s, o, opts.ForceConflicts, false, liveRV[o.key])
			if err != nil {
				r.Err = err
				s.emit(Event{Action: ActionFailed, Key: o.key, Message: err.Error()})
				return err
			}
			r.Action, r.Object = action, obj
			s.emit(Event{Action: action, Key: o.key})
			return nil
		})
		if err := firstError(errs); err != nil {
			return res, c.stopped(res, err)
		}
		if st.Foundation && hasCRD(stepObjs) {
			if err := c.waitCRDs(ctx, s, stepObjs, opts.CRDTimeout); err != nil {
				return res, c.stopped(res, err)
			}
		}
	}

	if opts.Prune {
		desired := make(map[Key]bool, len(prepared))
		for _, o := range prepared {
			desired[o.key] = true
		}
		res.Pruned, res.PruneErrors = c.prune(ctx, s, Prunable(live, desired, opts.App))
		if len(res.PruneErrors) > 0 {
			return res, &Error{Op: "prune", Reason: reasonOf(res.PruneErrors[0]),
				Msg: fmt.Sprintf("prune: %d of %d objects could not be deleted: %v", len(res.PruneErrors),
					len(res.PruneErrors)+len(res.Pruned), errors.Join(res.PruneErrors...)),
				Err: res.PruneErrors[0]}
		}
	}
	return res, nil
}

func firstError(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func reasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonOther
}

// stopped wraps the error that stopped a sync with where it stopped.
func (c *Client) stopped(res *Result, err error) error {
	applied, notApplied := res.Applied(), res.NotApplied()
	if len(notApplied) == 0 {
		return err
	}
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Op: "apply", Reason: ReasonOther, Msg: err.Error(), Err: err}
	}
	out := *e
	out.Err = err
	out.Msg = fmt.Sprintf("%s\nsync stopped: %d of %d objects applied, not applied: %s", e.Msg, len(applied),
		len(res.Objects), keyList(notApplied, 10))
	return &out
}

func keyList(keys []Key, max int) string {
	var parts []string
	for i, k := range keys {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(keys)-max))
			break
		}
		parts = append(parts, k.Readable())
	}
	return strings.Join(parts, ", ")
}

func hasCRD(objs []*object) bool {
	for _, o := range objs {
		if o.key.Kind == "CustomResourceDefinition" && o.key.Group == "apiextensions.k8s.io" {
			return true
		}
	}
	return false
}

// resolvePending resolves the resource of a custom resource whose CRD was
// applied in this sync; the mapper refreshes its discovery for it.
func (c *Client) resolvePending(ctx context.Context, o *object) error {
	m, err := c.mapping(ctx, o.u.GroupVersionKind())
	if err != nil {
		return err
	}
	o.gvr, o.pending = m.Resource, false
	return nil
}

// path is the REST path of an object (name "" for the collection).
func path(gvr schema.GroupVersionResource, namespace, name string) string {
	var b strings.Builder
	if gvr.Group == "" {
		b.WriteString("/api/" + gvr.Version)
	} else {
		b.WriteString("/apis/" + gvr.Group + "/" + gvr.Version)
	}
	if namespace != "" {
		b.WriteString("/namespaces/" + namespace)
	}
	b.WriteString("/" + gvr.Resource)
	if name != "" {
		b.WriteString("/" + name)
	}
	return b.String()
}

// applyOne writes one object as its annotations ask: server-side apply,
// replace (sync-by-replace) or delete and create (force-sync-by-replace).
// prevRV is the live resourceVersion when known, to tell unchanged objects.
func (c *Client) applyOne(ctx context.Context, s *sink, o *object, force, dryRun bool, prevRV string) (Action, *unstructured.Unstructured, error) {
	ann := o.u.GetAnnotations()
	switch {
	case annotationEnabled(ann, LabelForceSyncReplace) && !dryRun:
		return c.recreate(ctx, s, o)
	case annotationEnabled(ann, LabelSyncReplace) || annotationEnabled(ann, LabelForceSyncReplace):
		return c.replace(ctx, s, o, dryRun)
	}
	op, verb := "apply", "patch"
	if dryRun {
		op = "dry-run"
	}
	body, err := o.u.MarshalJSON()
	if err != nil {
		return "", nil, &Error{Op: op, Key: o.key, Reason: ReasonInvalid, Msg: fmt.Sprintf("%s %s: %v", op, o.key.Readable(), err), Err: err}
	}
	var (
		code int
		out  *unstructured.Unstructured
	)
	err = c.do(ctx, s, o.key, op+" "+o.key.Readable(), func(ctx context.Context) error {
		req := c.rest.Patch(types.ApplyPatchType).
			AbsPath(path(o.gvr, o.u.GetNamespace(), o.u.GetName())).
			Param("fieldManager", FieldManager).
			Param("fieldValidation", "Strict").
			Body(body)
		if force {
			req = req.Param("force", "true")
		}
		if dryRun {
			req = req.Param("dryRun", "All")
		}
		var err error
		out, code, err = decode(req.Do(ctx))
		return err
	})
	if err != nil {
		return "", nil, explainError(request{op: op, verb: verb, key: o.key, gvr: o.gvr, host: c.host}, err)
	}
	switch {
	case code == http.StatusCreated:
		return ActionCreated, out, nil
	case prevRV != "" && out.GetResourceVersion() == prevRV:
		return ActionUnchanged, out, nil
	}
	return ActionConfigured, out, nil
}

// decode reads a rest.Result into an object and its status code.
func decode(r rest.Result) (*unstructured.Unstructured, int, error) {
	code := 0
	r.StatusCode(&code)
	// Error (not Raw's error) decodes the apiserver's Status: reason,
	// details and causes.
	if err := r.Error(); err != nil {
		return nil, code, err
	}
	raw, err := r.Raw()
	if err != nil {
		return nil, code, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, code, err
	}
	return u, code, nil
}

// replace updates the object in place (PUT), creating it when missing.
func (c *Client) replace(ctx context.Context, s *sink, o *object, dryRun bool) (Action, *unstructured.Unstructured, error) {
	op := "replace"
	if dryRun {
		op = "dry-run"
	}
	body, err := o.u.MarshalJSON()
	if err != nil {
		return "", nil, &Error{Op: op, Key: o.key, Reason: ReasonInvalid, Msg: fmt.Sprintf("%s %s: %v", op, o.key.Readable(), err), Err: err}
	}
	var out *unstructured.Unstructured
	verb := "update"
	err = c.do(ctx, s, o.key, op+" "+o.key.Readable(), func(ctx context.Context) error {
		req := c.rest.Put().AbsPath(path(o.gvr, o.u.GetNamespace(), o.u.GetName())).
			Param("fieldManager", FieldManager).Param("fieldValidation", "Strict").Body(body)
		if dryRun {
			req = req.Param("dryRun", "All")
		}
		var err error
		out, _, err = decode(req.Do(ctx))
		return err
	})
	if apierrors.IsNotFound(err) && !isNamespaceNotFound(err) {
		verb = "create"
		err = c.do(ctx, s, o.key, op+" "+o.key.Readable(), func(ctx context.Context) error {
			req := c.rest.Post().AbsPath(path(o.gvr, o.u.GetNamespace(), "")).
				Param("fieldManager", FieldManager).Param("fieldValidation", "Strict").Body(body)
			if dryRun {
				req = req.Param("dryRun", "All")
			}
			var err error
			out, _, err = decode(req.Do(ctx))
			if apierrors.IsAlreadyExists(err) {
				return nil // created by an earlier attempt
			}
			return err
		})
	}
	if err != nil {
		return "", nil, explainError(request{op: op, verb: verb, key: o.key, gvr: o.gvr, host: c.host}, err)
	}
	return ActionReplaced, out, nil
}

func isNamespaceNotFound(err error) bool {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		d := se.Status().Details
		return d != nil && d.Kind == "namespaces"
	}
	return false
}

// recreate deletes the object, waits until it is gone, and creates it
// (kubectl replace --force).
func (c *Client) recreate(ctx context.Context, s *sink, o *object) (Action, *unstructured.Unstructured, error) {
	ri := c.dynamic.Resource(o.gvr).Namespace(o.u.GetNamespace())
	existed := true
	err := c.do(ctx, s, o.key, "delete "+o.key.Readable(), func(ctx context.Context) error {
		policy := metav1.DeletePropagationBackground
		err := ri.Delete(ctx, o.u.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy})
		if apierrors.IsNotFound(err) {
			existed = false
			return nil
		}
		return err
	})
	if err != nil {
		return "", nil, explainError(request{op: "replace", verb: "delete", key: o.key, gvr: o.gvr, host: c.host}, err)
	}
	if existed {
		if err := c.waitGone(ctx, s, o); err != nil {
			return "", nil, err
		}
	}
	var out *unstructured.Unstructured
	err = c.do(ctx, s, o.key, "create "+o.key.Readable(), func(ctx context.Context) error {
		var err error
		out, err = ri.Create(ctx, o.u, metav1.CreateOptions{FieldManager: FieldManager, FieldValidation: "Strict"})
		if apierrors.IsAlreadyExists(err) {
			out, err = ri.Get(ctx, o.u.GetName(), metav1.GetOptions{})
		}
		return err
	})
	if err != nil {
		return "", nil, explainError(request{op: "replace", verb: "create", key: o.key, gvr: o.gvr, host: c.host}, err)
	}
	if existed {
		return ActionRecreated, out, nil
	}
	return ActionCreated, out, nil
}

// waitGone polls until the object no longer exists (finalizers may hold it
// for a while); ctx bounds it.
func (c *Client) waitGone(ctx context.Context, s *sink, o *object) error {
	ri := c.dynamic.Resource(o.gvr).Namespace(o.u.GetNamespace())
	delay := 50 * time.Millisecond
	for {
		_, err := ri.Get(ctx, o.u.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil && !transient(err) {
			return explainError(request{op: "replace", verb: "get", key: o.key, gvr: o.gvr, host: c.host}, err)
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return explainError(request{op: "replace", verb: "delete", key: o.key, gvr: o.gvr, host: c.host},
				fmt.Errorf("waiting for the deletion to finish: %w", err))
		}
		if delay < time.Second {
			delay *= 2
		}
	}
}

// ensureNamespace creates the namespace unless it exists; it reports
// whether it created it.
func (c *Client) ensureNamespace(ctx context.Context, s *sink, name string) (bool, error) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	key := Key{Kind: "Namespace", Name: name}
	ri := c.dynamic.Resource(gvr)
	created := false
	err := c.do(ctx, s, key, "create "+key.Readable(), func(ctx context.Context) error {
		_, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
			return err
		}
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}
		_, err = ri.Create(ctx, ns, metav1.CreateOptions{FieldManager: FieldManager})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		if err == nil {
			created = true
		}
		return err
	})
	if err != nil {
		return false, explainError(request{op: "create namespace", verb: "create", key: key, gvr: gvr, host: c.host}, err)
	}
	if created {
		s.emit(Event{Action: ActionCreated, Key: key, Message: "autoCreateNamespace"})
	}
	return created, nil
}

// waitCRDs waits until the CRDs among objs are Established, then refreshes
// discovery so that their kinds resolve.
func (c *Client) waitCRDs(ctx context.Context, s *sink, objs []*object, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = time.Minute
	}
	var keys []Key
	for _, o := range objs {
		if o.key.Kind == "CustomResourceDefinition" {
			keys = append(keys, o.key)
		}
	}
	if err := c.Wait(ctx, keys, WaitOptions{Timeout: timeout, events: s}); err != nil {
		return err
	}
	c.resetMapper(ctx, 0)
	return nil
}
