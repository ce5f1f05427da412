package kubernetes

import (
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/plan"
)

// diffOptions labels the two sides of the per-object diffs.
type diffOptions struct {
	// From and To name the compared states in the "---" / "+++" lines
	// (e.g. "last deployed abc1234" and "head def5678", or "live" and
	// "head def5678 (dry run)").
	From, To string
	// Context is the number of unchanged lines around each change; 0
	// means 3.
	Context int
}

// diffObjects compares two sets of Kubernetes objects by key, after
// normalising both (manifest.Normalize; manifest.EqualInOrder decides what
// changed), and returns one Change per object added, changed or deleted:
// first the objects of `to` in their order, then the deleted objects in
// the order of `from`. Each change carries a unified diff of the objects'
// YAML (keys sorted) in which Secret values are masked (manifest.Diff).
func diffObjects(from, to []planObject, opt diffOptions) []plan.Change {
	old := byKey(from)
	changes := []plan.Change{}
	seen := make(map[string]bool, len(to))
	diff := func(o, n map[string]any, key string) string {
		return manifest.Diff(o, n, key, opt.From, opt.To, opt.Context)
	}
	for _, n := range to {
		if seen[n.Key] || n.Object == nil {
			continue
		}
		seen[n.Key] = true
		nn := manifest.Normalize(n.Object)
		o, ok := old[n.Key]
		if !ok {
			changes = append(changes, plan.Change{Key: n.Key, Action: plan.ActionAdd, Language: plan.LanguageDiff,
				Diff: diff(nil, nn, n.Key), Source: n.Source})
			continue
		}
		on := manifest.Normalize(o.Object)
		if manifest.EqualInOrder(on, nn) {
			continue
		}
		changes = append(changes, plan.Change{Key: n.Key, Action: plan.ActionChange, Language: plan.LanguageDiff,
			Diff: diff(on, nn, n.Key), Source: n.Source})
	}
	for _, o := range from {
		if seen[o.Key] || o.Object == nil {
			continue
		}
		seen[o.Key] = true
		changes = append(changes, plan.Change{Key: o.Key, Action: plan.ActionDelete, Language: plan.LanguageDiff,
			Diff: diff(manifest.Normalize(o.Object), nil, o.Key)})
	}
	return changes
}
