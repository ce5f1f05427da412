package kubernetes

import (
	"context"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// Pair is one object of a live plan: what is in the cluster and what a sync
// would leave there, both as the API server returned them. They are
// compared and shown normalised (manifest.Normalize, manifest.Equal,
// manifest.Diff: the planner does it); they are kept whole because their
// ownership labels and annotations, which normalisation drops, say which
// objects are the application's (Prunable, Owned) and that the dry run
// added them, and their uid and resourceVersion fingerprint the live state.
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
	// LiveResourceVersion is the live object's resourceVersion: a saved
	// plan can check that the cluster did not change since.
	LiveResourceVersion string
	// IgnoreDrift is set when the desired or the live object carries
	// pipecd.dev/ignore-drift-detection: "true".
	IgnoreDrift bool
}

// LivePlan is the desired objects paired with the live ones: first the
// desired objects in apply order, then the application's live objects that
// are not desired (sorted by key).
type LivePlan struct {
	Pairs []Pair
}

// LivePlan lists the application's live objects (Live), then asks the
// apiserver what a sync would leave for each desired object (a server-side
// dry-run apply) except for the objects whose live state shows that the
// apply would change nothing (pipe's managed fields are exactly the fields
// the manifest sets, with the manifest's values; the commit hash aside):
// those are paired with themselves. DryRunAll dry-runs every object.
// Objects that exist but are not the application's (so not listed by Live)
// are fetched one by one.
func (c *Client) LivePlan(ctx context.Context, objs []*unstructured.Unstructured, opts DryRunOptions) (*LivePlan, error) {
	s := newSink(opts.Events)
	ctx = withSink(ctx, s)
	prepared, err := c.prepare(ctx, objs, opts.App)
	if err != nil {
		return nil, err
	}
	lo := LiveOptions{Namespaces: opts.LiveNamespaces, events: s}
	if lo.Namespaces == nil {
		lo.Namespaces = namespacesOf(prepared, c.namespace)
	}
	live, err := c.live(ctx, opts.App, lo)
	if err != nil {
		return nil, err
	}
	liveByKey := make(map[Key]*unstructured.Unstructured, len(live))
	for _, u := range live {
		liveByKey[manifest.KeyOf(u)] = u
	}

	dry := make([]DryRunResult, len(prepared))
	var ask []*object
	var askIdx []int
	for i, o := range prepared {
		if l := liveByKey[o.key]; l != nil && !opts.DryRunAll && !o.pending && appliedUnchanged(sameCommit(o.u, l), l) {
			dry[i] = DryRunResult{Key: o.key, Object: l, Exists: true}
			continue
		}
		ask = append(ask, o)
		askIdx = append(askIdx, i)
	}
	answers, err := c.dryRun(ctx, s, ask, opts)
	if err != nil {
		return nil, err
	}
	for j, a := range answers {
		dry[askIdx[j]] = a
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
		p := Pair{Key: d.Key, Desired: d.Object, Note: d.Note,
			IgnoreDrift: u.GetAnnotations()[LabelIgnoreDriftDetection] == IgnoreDriftDetection}
		if l := liveByKey[d.Key]; l != nil {
			p.Live, p.Owned, p.LiveResourceVersion = l, true, l.GetResourceVersion()
			p.IgnoreDrift = p.IgnoreDrift || l.GetAnnotations()[LabelIgnoreDriftDetection] == IgnoreDriftDetection
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
			p.Live, p.LiveResourceVersion = got, got.GetResourceVersion()
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
		k := manifest.KeyOf(u)
		if desired[k] {
			continue
		}
		gone = append(gone, Pair{Key: k, Live: u, Owned: true, LiveResourceVersion: u.GetResourceVersion(),
			IgnoreDrift: u.GetAnnotations()[LabelIgnoreDriftDetection] == IgnoreDriftDetection})
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
		out = append(out, manifest.KeyOf(u))
	}
	return out
}

// sameCommit returns desired with the commit-hash label and annotation of
// live, which every sync rewrites and a plan ignores.
func sameCommit(desired, live *unstructured.Unstructured) *unstructured.Unstructured {
	u := desired.DeepCopy()
	set := func(get func() map[string]string, put func(map[string]string), from map[string]string) {
		m := get()
		if m == nil {
			m = map[string]string{}
		}
		if v, ok := from[LabelCommitHash]; ok {
			m[LabelCommitHash] = v
		} else {
			delete(m, LabelCommitHash)
		}
		put(m)
	}
	set(u.GetLabels, u.SetLabels, live.GetLabels())
	set(u.GetAnnotations, u.SetAnnotations, live.GetAnnotations())
	return u
}
