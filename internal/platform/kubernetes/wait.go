package kubernetes

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/gitops-pipe/pipe/internal/ctxtime"
)

// WaitOptions describe a readiness wait.
type WaitOptions struct {
	// App, when set, narrows each watch to the application's objects (its
	// label selector); leave it zero for objects that may not carry the
	// labels.
	App App
	// Timeout bounds the wait (0: only ctx does); when it passes, Wait
	// returns ErrNotReady saying which objects are stuck and why.
	Timeout time.Duration
	Events  Events

	events *sink
}

// Stuck is an object that did not become ready.
type Stuck struct {
	Key Key
	// Status is kstatus' status: InProgress, Failed, Terminating, NotFound.
	Status string
	// Reason says why, as precisely as the cluster tells: e.g. "1 of 3
	// replicas unavailable: ImagePullBackOff: ..." or "0 of 3 replicas
	// available: pods unschedulable: 0/1 nodes are available: ...".
	Reason string
}

func (s Stuck) String() string { return s.Key.Readable() + ": " + s.Reason }

// Wait waits until every object is ready by kstatus (Current):
// Deployments, StatefulSets, DaemonSets and ReplicaSets rolled out and
// available, Jobs complete, PVCs bound, CRDs established, Services with
// their load balancer, custom resources by their Ready condition or
// observedGeneration. It lists and watches each resource type (and
// namespace) once, so readiness is seen as soon as the apiserver knows it.
//
// It returns nil when all are ready; ErrNotReady when the timeout passes or
// an object fails (e.g. a Deployment exceeds its progress deadline, a Job
// fails), naming the stuck objects and why; on ctx cancellation the same
// error wraps ctx.Err().
func (c *Client) Wait(ctx context.Context, keys []Key, opts WaitOptions) error {
	if len(keys) == 0 {
		return nil
	}
	s := opts.events
	if s == nil {
		s = newSink(opts.Events)
	}
	ctx = withSink(ctx, s)
	parent := ctx
	var stop context.CancelFunc
	ctx, stop = context.WithCancel(ctx)
	defer stop()
	var timeout <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		timeout = t.C
	}

	groups, err := c.waitGroups(ctx, keys)
	if err != nil {
		return err
	}
	type update struct {
		key Key
		obj *unstructured.Unstructured // nil: not found
	}
	updates := make(chan update, 64)
	errc := make(chan error, len(groups))
	for _, g := range groups {
		go func() {
			send := func(k Key, u *unstructured.Unstructured) bool {
				select {
				case updates <- update{k, u}:
					return true
				case <-ctx.Done():
					return false
				}
			}
			if err := c.watchGroup(ctx, s, g, opts.App, send); err != nil && ctx.Err() == nil {
				errc <- err
			}
		}()
	}

	type state struct {
		obj    *unstructured.Unstructured
		res    *status.Result
		seen   bool
		ready  bool
		status status.Status
	}
	states := make(map[Key]*state, len(keys))
	for _, k := range keys {
		states[k] = &state{}
	}
	remaining := len(states)
	started := time.Now()

	stuck := func(failedOnly bool) []Stuck {
		ectx, cancel := context.WithTimeout(context.WithoutCancel(parent), 5*time.Second)
		defer cancel()
		var out []Stuck
		for _, k := range keys {
			st := states[k]
			if st.ready || failedOnly && st.status != status.FailedStatus {
				continue
			}
			switch {
			case !st.seen:
				out = append(out, Stuck{Key: k, Status: "Unknown", Reason: "no status observed yet"})
			case st.obj == nil:
				out = append(out, Stuck{Key: k, Status: string(status.NotFoundStatus), Reason: "not found (deleted?)"})
			default:
				out = append(out, Stuck{Key: k, Status: string(st.status), Reason: c.explain(ectx, k, st.obj, st.res)})
			}
		}
		return out
	}
	notReady := func(why string, cause error, list []Stuck) error {
		var parts []string
		for i, st := range list {
			if i == 10 {
				parts = append(parts, fmt.Sprintf("and %d more", len(list)-10))
				break
			}
			parts = append(parts, st.String())
		}
		return &Error{Op: "wait", Reason: ReasonNotReady, Stuck: list, Err: cause,
			Msg:  fmt.Sprintf("%s:\n  %s", why, strings.Join(parts, "\n  ")),
			Hint: "look at the objects named (kubectl describe), fix the manifests and sync again; a longer timeout helps only when they are progressing"}
	}

	for {
		select {
		case u := <-updates:
			st := states[u.key]
			if st == nil || st.ready {
				continue
			}
			st.seen, st.obj = true, u.obj
			prev := st.status
			if u.obj == nil {
				st.status, st.res = status.NotFoundStatus, nil
			} else {
				res, err := status.Compute(u.obj)
				if err != nil {
					res = &status.Result{Status: status.UnknownStatus, Message: err.Error()}
				}
				st.status, st.res = res.Status, res
			}
			switch st.status {
			case status.CurrentStatus:
				st.ready = true
				remaining--
				s.emit(Event{Action: ActionReady, Key: u.key})
				if remaining == 0 {
					return nil
				}
			case status.FailedStatus:
				stop()
				return notReady(fmt.Sprintf("%s failed after %s", u.key.Readable(), time.Since(started).Round(100*time.Millisecond)), nil, stuck(true))
			default:
				if st.status != prev {
					msg := string(st.status)
					if st.res != nil && st.res.Message != "" {
						msg = st.res.Message
					}
					s.emit(Event{Action: ActionWaiting, Key: u.key, Message: msg})
				}
			}
		case err := <-errc:
			return err
		case <-timeout:
			stop()
			list := stuck(false)
			return notReady(fmt.Sprintf("timed out after %s waiting for %d of %d objects to be ready", opts.Timeout, len(list), len(keys)), nil, list)
		case <-ctx.Done():
			err := parent.Err()
			if err == nil {
				err = ctx.Err()
			}
			list := stuck(false)
			return notReady(fmt.Sprintf("stopped waiting (%v) for %d of %d objects to be ready", err, len(list), len(keys)), err, list)
		}
	}
}

// waitGroup is the objects of one resource type in one namespace.
type waitGroup struct {
	gvr   schema.GroupVersionResource
	ns    string
	names map[string]Key
}

func (c *Client) waitGroups(ctx context.Context, keys []Key) ([]*waitGroup, error) {
	type gk struct {
		gvr schema.GroupVersionResource
		ns  string
	}
	byGK := map[gk]*waitGroup{}
	var out []*waitGroup
	for _, k := range keys {
		m, err := c.mapping(ctx, schema.GroupVersionKind{Group: k.Group, Kind: k.Kind})
		if err != nil {
			return nil, err
		}
		id := gk{m.Resource, k.Namespace}
		g := byGK[id]
		if g == nil {
			g = &waitGroup{gvr: m.Resource, ns: k.Namespace, names: map[string]Key{}}
			byGK[id] = g
			out = append(out, g)
		}
		g.names[k.Name] = k
	}
	sort.Slice(out, func(i, j int) bool { return out[i].gvr.String()+out[i].ns < out[j].gvr.String()+out[j].ns })
	return out, nil
}

// watchGroup lists the group's objects and watches them, sending every
// state (nil when an object does not exist), until ctx is done. It
// re-lists when the watch ends or expires.
func (c *Client) watchGroup(ctx context.Context, s *sink, g *waitGroup, app App, send func(Key, *unstructured.Unstructured) bool) error {
	ri := c.dynamic.Resource(g.gvr).Namespace(g.ns)
	lo := metav1.ListOptions{}
	if len(g.names) == 1 {
		for name := range g.names {
			lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}
	} else if app.ID != "" {
		lo.LabelSelector = app.Selector()
	}
	req := request{op: "wait", verb: "list", gvr: g.gvr, key: Key{Namespace: g.ns}, host: c.host}
	for ctx.Err() == nil {
		var list *unstructured.UnstructuredList
		err := c.do(ctx, s, Key{}, "list "+g.gvr.Resource, func(ctx context.Context) error {
			var err error
			list, err = ri.List(ctx, lo)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return explainError(req, err)
		}
		seen := map[string]bool{}
		for i := range list.Items {
			u := &list.Items[i]
			if k, ok := g.names[u.GetName()]; ok {
				seen[u.GetName()] = true
				if !send(k, u) {
					return nil
				}
			}
		}
		for name, k := range g.names {
			if !seen[name] && !send(k, nil) {
				return nil
			}
		}
		wo := lo
		wo.ResourceVersion, wo.AllowWatchBookmarks = list.GetResourceVersion(), true
		w, err := ri.Watch(ctx, wo)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if transient(err) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				_ = ctxtime.Sleep(ctx, c.opts.Retry.Initial)
				continue
			}
			r := req
			r.verb = "watch"
			return explainError(r, err)
		}
		if !c.consume(ctx, w, g, send) {
			return nil
		}
	}
	return nil
}

// consume forwards watch events until the watch ends (true: re-list) or
// ctx is done (false).
func (c *Client) consume(ctx context.Context, w watch.Interface, g *waitGroup, send func(Key, *unstructured.Unstructured) bool) bool {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case ev, ok := <-w.ResultChan():
			if !ok {
				return true
			}
			switch ev.Type {
			case watch.Added, watch.Modified, watch.Deleted:
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok {
					continue
				}
				k, mine := g.names[u.GetName()]
				if !mine {
					continue
				}
				if ev.Type == watch.Deleted {
					u = nil
				}
				if !send(k, u) {
					return false
				}
			case watch.Error:
				return true
			}
		}
	}
}
