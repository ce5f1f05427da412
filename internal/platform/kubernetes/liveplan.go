package kubernetes

import (
	"context"
	"sort"

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

// LivePlan lists the application's live objects (Live), then observes what
// a sync would leave of each desired object (observe: a server-side
// dry-run apply, except for the objects whose live state shows that the
// apply would change nothing: those are paired with themselves).
// DryRunAll dry-runs every object. Objects that exist but are not the
// application's (so not listed by Live) are fetched one by one.
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
	liveByKey := liveIndex(live)
	obs, err := c.observe(ctx, s, prepared, liveByKey, opts)
	if err != nil {
		return nil, err
	}
	if err := c.fetchOthers(ctx, s, obs); err != nil {
		return nil, err
	}
	byU := make(map[*unstructured.Unstructured]*observed, len(obs))
	us := make([]*unstructured.Unstructured, len(obs))
	for i := range obs {
		us[i] = obs[i].o.u
		byU[us[i]] = &obs[i]
	}
	plan := &LivePlan{}
	for _, u := range Flatten(Order(us)) {
		r := byU[u]
		p := Pair{Key: r.o.key, Desired: r.wouldBe, Note: r.note, Owned: liveByKey[r.o.key] != nil,
			IgnoreDrift: ignoresDrift(u) || ignoresDrift(r.live)}
		if r.live != nil {
			p.Live, p.LiveResourceVersion = r.live, r.live.GetResourceVersion()
		}
		plan.Pairs = append(plan.Pairs, p)
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
		gone = append(gone, Pair{Key: k, Live: u, Owned: true, LiveResourceVersion: u.GetResourceVersion(), IgnoreDrift: ignoresDrift(u)})
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

// ignoresDrift reports whether an object carries
// pipecd.dev/ignore-drift-detection: "true".
func ignoresDrift(u *unstructured.Unstructured) bool {
	return u != nil && u.GetAnnotations()[LabelIgnoreDriftDetection] == IgnoreDriftDetection
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
