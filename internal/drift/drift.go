// Package drift owns drift detection: whether what runs in the cluster is
// still what Git says. For each application it renders the head of the
// repository, lists the live objects (once per resource type for all the
// applications of a cluster, see kubernetes.Client.ListManaged), and
// compares each object with what a sync would leave, a forced server-side
// dry-run apply of the Git state, so that server defaults are never drift,
// fields removed from Git that pipe still owns are, and fields another
// field manager changed are (kubectl diff --server-side stops at the
// conflict). Fields other managers added that Git does not set at all are
// found from the live object's managed fields. The result is a value
// (Report) that the CLI prints, marshals and records; this package never
// prints.
package drift

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/render"
	"github.com/gitops-pipe/pipe/internal/platform/kubernetes"
)

// Status is the verdict on one application.
type Status string

const (
	InSync    Status = "IN_SYNC"
	OutOfSync Status = "OUT_OF_SYNC"
	// Failed: the check could not be made (render or cluster error).
	Failed Status = "FAILED"
	// Skipped: drift detection does not support the application's kind.
	Skipped Status = "SKIPPED"
)

// Object actions.
const (
	ActionAdded   = "added"   // in Git, not live
	ActionDeleted = "deleted" // live, not in Git
	ActionChanged = "changed" // both, with drifted fields
)

// ObjectDrift is one drifted object.
type ObjectDrift struct {
	// Key is group:Kind:namespace:name; Object the same in words.
	Key    string      `json:"key"`
	Object string      `json:"object"`
	Action string      `json:"action"`
	Fields []FieldDiff `json:"fields,omitempty"`
	Note   string      `json:"note,omitempty"`
}

// AppResult is the verdict on one application.
type AppResult struct {
	App    string `json:"app"`
	Kind   string `json:"kind"`
	Dir    string `json:"dir"`
	Status Status `json:"status"`
	// Objects is the number of objects compared.
	Objects int           `json:"objects"`
	Added   int           `json:"added"`
	Changed int           `json:"changed"`
	Deleted int           `json:"deleted"`
	Drift   []ObjectDrift `json:"drift,omitempty"`
	// Ignored are the keys of objects skipped for their
	// pipecd.dev/ignore-drift-detection annotation.
	Ignored []string `json:"ignored,omitempty"`
	Error   string   `json:"error,omitempty"`
	// Reason says why an application was skipped.
	Reason string `json:"reason,omitempty"`
}

// Summary is "2 changed, 1 deleted" style.
func (r *AppResult) Summary() string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{r.Added, "added"}, {r.Changed, "changed"}, {r.Deleted, "deleted"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(parts) == 0 {
		return "no drift"
	}
	return joinComma(parts)
}

func joinComma(s []string) string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}

// Report is the result of one drift check.
type Report struct {
	SchemaVersion int         `json:"schemaVersion"`
	Commit        string      `json:"commit,omitempty"`
	Shard         string      `json:"shard,omitempty"`
	Apps          []AppResult `json:"apps"`
	Stats         Stats       `json:"stats"`
}

// Stats measure the work of a check.
type Stats struct {
	Apps      int           `json:"apps"`
	ListCalls int           `json:"listCalls"`
	DryRuns   int           `json:"dryRuns"`
	Duration  time.Duration `json:"durationNs"`
}

// Drifted reports whether any application is out of sync.
func (r *Report) Drifted() bool {
	for _, a := range r.Apps {
		if a.Status == OutOfSync {
			return true
		}
	}
	return false
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, a := range r.Apps {
		if a.Status == Failed {
			return true
		}
	}
	return false
}

// Cluster is the part of the Kubernetes target a check uses.
type Cluster interface {
	ListManaged(ctx context.Context, opts kubernetes.LiveOptions) (*kubernetes.Managed, error)
	DriftPlan(ctx context.Context, objs, live []*unstructured.Unstructured, opts kubernetes.DryRunOptions) ([]kubernetes.DriftPair, error)
	Namespace() string
}

// Checker checks applications for drift.
type Checker struct {
	// Root is the working tree at the head the apps are compared with.
	Root     string
	Renderer *render.Renderer
	// Cluster returns the cluster of an application; applications with the
	// same Cluster share one listing of the live objects.
	Cluster func(app *config.App) (Cluster, error)
	// Terraform opens the initialised workspace of a TerraformApp at the
	// head (done releases it); nil skips TerraformApp applications. A
	// *SkipError skips the application with its reason.
	Terraform func(ctx context.Context, app *config.App) (ws TerraformWorkspace, done func(), err error)
	// Parallelism bounds the applications checked at once; 0 means 8.
	Parallelism int
	// Warn, when set, is told of what the check could not consider (a
	// resource type that may not be listed).
	Warn func(msg string)
	// Progress, when set, is told of each application checked.
	Progress func(app string, st Status, d time.Duration)
	Now      func() time.Time
}

// Check checks apps, in parallel, and returns their verdicts in the order
// of apps. It never fails as a whole: a problem with one application (or
// with its cluster) is that application's FAILED verdict.
func (c *Checker) Check(ctx context.Context, apps []*config.App) *Report {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	rep := &Report{SchemaVersion: 1, Apps: make([]AppResult, len(apps))}
	clusters := make([]Cluster, len(apps))
	tfApps := make([]bool, len(apps))
	listings := map[Cluster]*listing{}
	for i, ap := range apps {
		r := &rep.Apps[i]
		r.App, r.Kind, r.Dir = ap.Name, string(ap.Kind), ap.Dir
		if ap.Kind == config.KindTerraformApp {
			if c.Terraform == nil {
				r.Status, r.Reason = Skipped, "terraform is not available to this check"
				continue
			}
			tfApps[i] = true
			continue
		}
		if ap.Kind != config.KindKubernetesApp {
			r.Status, r.Reason = Skipped, fmt.Sprintf("drift detection of a %s is not supported yet", ap.Kind)
			continue
		}
		cl, err := c.Cluster(ap)
		if err != nil {
			r.Status, r.Error = Failed, err.Error()
			continue
		}
		clusters[i] = cl
		l := listings[cl]
		if l == nil {
			l = &listing{ns: []string{cl.Namespace()}}
			listings[cl] = l
		}
		if ns := ap.Spec.(*config.KubernetesApplicationSpec).Input.Namespace; ns != "" {
			l.ns = append(l.ns, ns)
		}
	}
	var dryRuns atomic.Int64
	par := c.Parallelism
	if par <= 0 {
		par = 8
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	// check runs one application's check in the pool and reports progress.
	check := func(i int, ap *config.App, f func(r *AppResult)) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := now()
			f(&rep.Apps[i])
			if c.Progress != nil {
				c.Progress(ap.Name, rep.Apps[i].Status, now().Sub(t0))
			}
		}()
	}
	for i, ap := range apps {
		switch {
		case tfApps[i]:
			check(i, ap, func(r *AppResult) { c.checkTerraform(ctx, ap, r) })
		case clusters[i] != nil:
			check(i, ap, func(r *AppResult) {
				l := listings[clusters[i]]
				l.once.Do(func() {
					opts := kubernetes.LiveOptions{Namespaces: dedupe(l.ns)}
					if c.Warn != nil {
						opts.Events = func(ev kubernetes.Event) {
							if ev.Action == kubernetes.ActionWarning {
								c.Warn(ev.Message)
							}
						}
					}
					l.m, l.err = clusters[i].ListManaged(ctx, opts)
				})
				if l.err != nil {
					r.Status, r.Error = Failed, "list the live objects: "+l.err.Error()
					return
				}
				n := c.checkApp(ctx, ap, clusters[i], l.take(ap.Name), r)
				dryRuns.Add(int64(n))
			})
		}
	}
	wg.Wait()
	for _, l := range listings {
		if l.m != nil {
			rep.Stats.ListCalls += l.m.Lists
		}
	}
	rep.Stats.Apps = len(apps)
	rep.Stats.DryRuns = int(dryRuns.Load())
	rep.Stats.Duration = now().Sub(start)
	return rep
}

// listing is one cluster's live objects, listed once for all its apps.
type listing struct {
	once sync.Once
	m    *kubernetes.Managed
	err  error
	ns   []string
	mu   sync.Mutex
}

// take returns an application's live objects and drops them from the
// listing, so that memory is released as the check goes.
func (l *listing) take(app string) []*unstructured.Unstructured {
	l.mu.Lock()
	defer l.mu.Unlock()
	objs := l.m.ByApp[app]
	delete(l.m.ByApp, app)
	return objs
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

// checkApp fills r for one application and returns the number of dry
// runs it took.
func (c *Checker) checkApp(ctx context.Context, ap *config.App, cl Cluster, live []*unstructured.Unstructured, r *AppResult) int {
	spec := ap.Spec.(*config.KubernetesApplicationSpec)
	ka, err := render.KubernetesAppOf(c.Root, ap)
	if err != nil {
		r.Status, r.Error = Failed, "render: "+err.Error()
		return 0
	}
	m, err := c.Renderer.Kubernetes(ctx, ka)
	if err != nil {
		r.Status, r.Error = Failed, "render: "+err.Error()
		return 0
	}
	objs := make([]*unstructured.Unstructured, 0, len(m.Objects))
	for _, o := range m.Objects {
		objs = append(objs, o.Object)
	}
	pairs, err := cl.DriftPlan(ctx, objs, live, kubernetes.DryRunOptions{App: kubernetes.App{ID: ap.Name, Namespaces: kubernetes.ScopeOf(objs, cl.Namespace())}})
	if err != nil {
		r.Status, r.Error = Failed, err.Error()
		return 0
	}
	var rules []ignoreRule
	if dd := spec.DriftDetection; dd != nil {
		rules = parseIgnoreRules(dd.IgnoreFields)
	}
	r.Objects = len(pairs)
	dry := 0
	for _, p := range pairs {
		if p.DryRun {
			dry++
		}
		if ignored(p.Desired) || ignored(p.Live) {
			r.Ignored = append(r.Ignored, p.Key.String())
			continue
		}
		d := ObjectDrift{Key: p.Key.String(), Object: p.Key.Readable(), Note: p.Note}
		switch {
		case p.Desired == nil:
			d.Action = ActionDeleted
			r.Deleted++
		case p.Live == nil:
			d.Action = ActionAdded
			r.Added++
		case !p.Owned:
			d.Action = ActionAdded
			d.Note = "exists but is not labelled as the application's: a sync adopts it"
			r.Added++
		default:
			d.Fields = compareObject(p.Key, p.Desired, p.WouldBe, p.Live, rules)
			if len(d.Fields) == 0 {
				continue
			}
			d.Action = ActionChanged
			r.Changed++
		}
		r.Drift = append(r.Drift, d)
	}
	sort.SliceStable(r.Drift, func(i, j int) bool { return r.Drift[i].Key < r.Drift[j].Key })
	r.Status = InSync
	if len(r.Drift) > 0 {
		r.Status = OutOfSync
	}
	return dry
}

func ignored(u *unstructured.Unstructured) bool {
	return u != nil && u.GetAnnotations()[kubernetes.LabelIgnoreDriftDetection] == kubernetes.IgnoreDriftDetection
}
