package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/manifest"
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
		liveRV[manifest.KeyOf(u)] = u.GetResourceVersion()
	}

	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return res, c.stopped(res, explainError(request{op: "sync"}, err))
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
			action, obj, err := c.applyOne(withObject(ctx, o.key), s, o, opts.ForceConflicts, liveRV[o.key])
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
