package kubernetes

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/manifest"
)

// observed is what a sync would leave of one prepared object: the one
// observation the live plan, the drift check and the pre-flight check make.
type observed struct {
	o *object
	// live is the application's live object with o's key; nil when none
	// was listed.
	live *unstructured.Unstructured
	// wouldBe is what a sync would leave: live itself when its managed
	// fields show the apply would change nothing (see appliedUnchanged),
	// else the server's answer to a dry-run apply (or o as it would be
	// sent when the server cannot answer: note says why).
	wouldBe *unstructured.Unstructured
	note    string
	// exists says the object exists in the cluster (listed, or the dry
	// run updated rather than created it).
	exists bool
	// dryRun says the server was asked.
	dryRun bool
}

// observe pairs each prepared object with the application's live object
// of its key and what a sync would leave: the live object itself when its
// managed fields show that the apply would change nothing (the commit
// hash aside), else the answer of a server-side dry-run apply; the dry
// runs go concurrently. Every object the apiserver refuses is in the error
// (joined). With opts.DryRunAll every object is dry-run.
func (c *Client) observe(ctx context.Context, s *sink, prepared []*object, liveByKey map[Key]*unstructured.Unstructured, opts DryRunOptions) ([]observed, error) {
	out := make([]observed, len(prepared))
	var ask []*object
	var askIdx []int
	for i, o := range prepared {
		r := &out[i]
		r.o = o
		if l := liveByKey[o.key]; l != nil {
			r.live, r.exists = l, true
			if !opts.DryRunAll && !o.pending && appliedUnchanged(sameCommit(o.u, l), withStringData(l, o.u)) {
				r.wouldBe = l
				continue
			}
		}
		ask = append(ask, o)
		askIdx = append(askIdx, i)
	}
	answers, err := c.dryRun(ctx, s, ask, opts)
	if err != nil {
		return nil, err
	}
	for j, a := range answers {
		r := &out[askIdx[j]]
		r.wouldBe, r.note, r.dryRun = a.Object, a.Note, a.Note == ""
		r.exists = r.exists || a.Exists
	}
	return out, nil
}

// fetchOthers gets, one by one and concurrently, the live objects of the
// observed ones that exist but were not listed as the application's (an
// object a sync would adopt).
func (c *Client) fetchOthers(ctx context.Context, s *sink, obs []observed) error {
	var idx []int
	for i, r := range obs {
		if r.live == nil && r.exists {
			idx = append(idx, i)
		}
	}
	errs := forAll(ctx, len(idx), c.opts.Concurrency, func(ctx context.Context, i int) error {
		r := &obs[idx[i]]
		o := r.o
		err := c.do(ctx, s, o.key, "get "+o.key.Readable(), func(ctx context.Context) error {
			got, err := c.dynamic.Resource(o.gvr).Namespace(o.u.GetNamespace()).Get(ctx, o.u.GetName(), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			r.live = got
			return err
		})
		if err != nil {
			return explainError(request{op: "get", verb: "get", key: o.key, gvr: o.gvr, host: c.host}, err)
		}
		return nil
	})
	return firstError(errs)
}

// liveIndex keys live objects.
func liveIndex(live []*unstructured.Unstructured) map[Key]*unstructured.Unstructured {
	m := make(map[Key]*unstructured.Unstructured, len(live))
	for _, u := range live {
		m[manifest.KeyOf(u)] = u
	}
	return m
}
