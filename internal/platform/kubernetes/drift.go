package kubernetes

import (
	"context"
	"sort"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/render"
)

// Drift implements drift.Platform: for each application, what a sync
// would leave (a forced server-side dry-run apply of Git at the working
// tree, so server defaults are never drift) is compared with the live
// objects, plus the fields other field managers added that Git does not
// set. The live objects are listed once per resource type for all the
// applications of a cluster (ListManaged).
func (p *Platform) Drift(ctx context.Context, b *drift.Batch) {
	type cluster struct {
		client *Client
		once   sync.Once
		m      *Managed
		err    error
		ns     []string
		mu     sync.Mutex
	}
	clusters := map[*Client]*cluster{}
	of := make([]*cluster, len(b.Apps))
	errs := make([]error, len(b.Apps))
	// Connect first, in order, so that each cluster's listing covers the
	// namespaces of all its applications.
	for i, app := range b.Apps {
		c, _, err := p.connect(app)
		if err != nil {
			errs[i] = err
			continue
		}
		cl := clusters[c]
		if cl == nil {
			cl = &cluster{client: c, ns: []string{c.Namespace()}}
			clusters[c] = cl
		}
		if spec, ok := app.Spec.(*config.KubernetesApplicationSpec); ok && spec.Input.Namespace != "" {
			cl.ns = append(cl.ns, spec.Input.Namespace)
		}
		of[i] = cl
	}
	for i, app := range b.Apps {
		b.GoTree(i, p.opts.Root, func(ctx context.Context, root string, r *drift.AppResult) {
			if errs[i] != nil {
				r.Status, r.Error = drift.Failed, errs[i].Error()
				return
			}
			cl := of[i]
			cl.once.Do(func() {
				opts := LiveOptions{Namespaces: dedupe(cl.ns)}
				if p.opts.Warn != nil {
					opts.Events = func(ev Event) {
						if ev.Action == ActionWarning {
							p.opts.Warn(ev.Message)
						}
					}
				}
				cl.m, cl.err = cl.client.ListManaged(ctx, opts)
				if cl.m != nil {
					b.Count(cl.m.Lists, 0)
				}
			})
			if cl.err != nil {
				r.Status, r.Error = drift.Failed, "list the live objects: "+cl.err.Error()
				return
			}
			cl.mu.Lock()
			live := cl.m.ByApp[app.Name]
			delete(cl.m.ByApp, app.Name) // released as the check goes
			cl.mu.Unlock()
			b.Count(0, p.checkDrift(ctx, root, app, cl.client, live, r))
		})
	}
}

// checkDrift fills r for one application and returns the number of dry
// runs it took.
func (p *Platform) checkDrift(ctx context.Context, root string, app *config.App, c *Client, live []*unstructured.Unstructured, r *drift.AppResult) int {
	spec, ok := app.Spec.(*config.KubernetesApplicationSpec)
	if !ok {
		r.Status, r.Error = drift.Failed, app.Name+" is not a KubernetesApp"
		return 0
	}
	ka, err := render.KubernetesAppOf(root, app)
	if err != nil {
		r.Status, r.Error = drift.Failed, "render: "+err.Error()
		return 0
	}
	ka.DefaultNamespace = c.Namespace()
	rd, err := p.renderer()
	if err != nil {
		r.Status, r.Error = drift.Failed, "render: "+err.Error()
		return 0
	}
	m, err := rd.Kubernetes(ctx, ka)
	if err != nil {
		r.Status, r.Error = drift.Failed, "render: "+err.Error()
		return 0
	}
	objs := objectsOfRender(m)
	pairs, err := c.DriftPlan(ctx, objs, live, DryRunOptions{App: App{ID: app.Name, Namespaces: ScopeOf(objs, c.Namespace())}})
	if err != nil {
		r.Status, r.Error = drift.Failed, err.Error()
		return 0
	}
	var rules []ignoreRule
	if dd := spec.DriftDetection; dd != nil {
		rules = parseIgnoreRules(dd.IgnoreFields)
	}
	r.Objects = len(pairs)
	dry := 0
	for _, pr := range pairs {
		if pr.DryRun {
			dry++
		}
		if ignoredByAnnotation(pr.Desired) || ignoredByAnnotation(pr.Live) {
			r.Ignored = append(r.Ignored, pr.Key.String())
			continue
		}
		d := drift.ObjectDrift{Key: pr.Key.String(), Object: pr.Key.Readable(), Note: pr.Note}
		switch {
		case pr.Desired == nil:
			d.Action = drift.ActionDeleted
			r.Deleted++
		case pr.Live == nil:
			d.Action = drift.ActionAdded
			r.Added++
		case !pr.Owned:
			d.Action = drift.ActionAdded
			d.Note = "exists but is not labelled as the application's: a sync adopts it"
			r.Added++
		default:
			d.Fields = compareObject(pr.Key, pr.Desired, pr.WouldBe, pr.Live, rules)
			if len(d.Fields) == 0 {
				continue
			}
			d.Action = drift.ActionChanged
			r.Changed++
		}
		r.Drift = append(r.Drift, d)
	}
	sort.SliceStable(r.Drift, func(i, j int) bool { return r.Drift[i].Key < r.Drift[j].Key })
	r.Finish()
	return dry
}

func ignoredByAnnotation(u *unstructured.Unstructured) bool {
	return u != nil && u.GetAnnotations()[LabelIgnoreDriftDetection] == IgnoreDriftDetection
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
