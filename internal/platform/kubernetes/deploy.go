package kubernetes

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/render"
)

// Plan implements deploy.Platform: the head and the running commit are
// rendered, each with the app's config at that commit (so a change of
// helmOptions or of a kustomize input is a change of the desired state),
// the live objects are observed for a live plan, and the planner decides
// as PipeCD's Kubernetes planner does.
func (p *Platform) Plan(ctx context.Context, req deploy.PlanRequest) (*plan.Plan, deploy.Prepared, error) {
	app := req.App
	spec, ok := app.Spec.(*config.KubernetesApplicationSpec)
	if !ok {
		return nil, nil, fmt.Errorf("%s is a %s, not a KubernetesApp", app.Name, app.Kind)
	}
	ns := p.namespace(app)
	prep := &prepared{p: p, app: app, spec: spec, namespace: ns, force: req.ForceConflicts, revision: req.Revision, running: map[string][]*unstructured.Unstructured{}}
	head, err := p.renderRevision(ctx, req.Head, ns)
	if err != nil {
		return nil, nil, fmt.Errorf("render %s at %s: %w", app.Name, req.Head.Commit.Short(), err)
	}
	prep.desired, prep.objs = head, objectsOfRender(head)
	in := kubernetesInput{Input: req.Input, Spec: spec, Desired: planObjectsOfRender(head)}
	if req.Running != nil {
		m, err := p.renderRevision(ctx, req.Running, ns)
		if err != nil {
			return nil, nil, fmt.Errorf("render the last successful deployment of %s (%s): %w", app.Name, req.Running.Commit.Short(), err)
		}
		in.RunningState = &planRevision{Commit: req.Running.Commit, Objects: planObjectsOfRender(m)}
		prep.running[req.Running.Commit.Hash] = objectsOfRender(m)
	} else if req.Base != nil {
		m, err := p.renderRevision(ctx, req.Base, ns)
		if err != nil {
			return nil, nil, fmt.Errorf("render %s at --base %s: %w", app.Name, req.Base.Commit.Short(), err)
		}
		in.Base = &planRevision{Commit: req.Base.Commit, Objects: planObjectsOfRender(m)}
	}
	if req.Live {
		live, dry, err := prep.observeLive(ctx, req.ForceConflicts)
		if err != nil {
			return nil, nil, err
		}
		in.Live = newLiveState(live, dry)
	}
	pl, err := planKubernetes(in)
	if err != nil {
		return nil, nil, err
	}
	return pl, prep, nil
}

// renderRevision renders the application at a revision with its config
// there.
func (p *Platform) renderRevision(ctx context.Context, rev *deploy.Revision, ns string) (*render.Manifests, error) {
	tree, err := rev.Open(ctx)
	if err != nil {
		return nil, err
	}
	ka, err := render.KubernetesAppOf(tree.Root, tree.App)
	if err != nil {
		return nil, err
	}
	ka.DefaultNamespace = ns
	r, err := p.renderer()
	if err != nil {
		return nil, err
	}
	return r.Kubernetes(ctx, ka)
}

// prepared is a planned KubernetesApp deployment: its rendered objects,
// and the running commits' once rendered.
type prepared struct {
	p         *Platform
	app       *config.App
	spec      *config.KubernetesApplicationSpec
	namespace string
	// force dry-runs as a sync with --force-conflicts applies.
	force bool
	// desired is the head as rendered (its objects' sources locate
	// errors); objs are its objects.
	desired  *render.Manifests
	objs     []*unstructured.Unstructured
	revision func(hash string) (*deploy.Revision, error)

	mu      sync.Mutex
	running map[string][]*unstructured.Unstructured
}

// client connects to the application's cluster.
func (d *prepared) client() (*Client, error) {
	c, _, err := d.p.connect(d.app)
	return c, err
}

// observeLive returns the application's live objects and what a sync of the
// head would leave of each (a server-side dry run where the live object
// does not already show it): the two sides of a live plan.
func (d *prepared) observeLive(ctx context.Context, force bool) (live, dryRun []*unstructured.Unstructured, err error) {
	c, err := d.client()
	if err != nil {
		return nil, nil, err
	}
	app := App{ID: d.app.Name, Namespaces: ScopeOf(d.objs, c.Namespace())}
	lp, err := c.LivePlan(ctx, d.objs, DryRunOptions{App: app, ForceConflicts: force, CreateNamespace: d.createNamespace()})
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrConflict) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrNoKind) {
		return nil, nil, fmt.Errorf("a sync of %s would fail: %w", d.app.Name, d.locate(err))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("observe %s in the cluster: %w", d.app.Name, d.locate(err))
	}
	for _, pr := range lp.Pairs {
		if pr.Live != nil && pr.Owned {
			live = append(live, pr.Live)
		}
		if pr.Desired != nil {
			dryRun = append(dryRun, pr.Desired)
		}
	}
	return live, dryRun, nil
}

func (d *prepared) createNamespace() string {
	if d.spec.Input.AutoCreateNamespace {
		return d.spec.Input.Namespace
	}
	return ""
}

// PreFlight implements deploy.Prepared: when a stage of p applies
// manifests, every object of the head, as the primary rollout applies it,
// goes through a server-side dry run (those whose live state shows the
// apply changes nothing excepted). Every refused object is named with its
// field and the file:line it comes from.
func (d *prepared) PreFlight(ctx context.Context, p *plan.Plan) error {
	if !appliesManifests(p) {
		return nil
	}
	c, err := d.client()
	if err != nil {
		return err
	}
	r := d.runner(c, nil, deploy.RunOptions{})
	objs, err := r.primaryObjects(r.Desired, r.Spec.QuickSync.AddVariantLabelToSelector, false, "")
	if err != nil {
		return err
	}
	app := App{ID: d.app.Name, Namespaces: r.Namespaces}
	if err := c.PreFlight(ctx, objs, DryRunOptions{App: app, CreateNamespace: d.createNamespace(), ForceConflicts: d.force}); err != nil {
		return d.locate(err)
	}
	return nil
}

// appliesManifests reports whether a stage of p that runs applies the
// application's manifests (a pipeline of WAIT_APPROVAL and SCRIPT_RUN
// stages does not).
func appliesManifests(p *plan.Plan) bool {
	for _, s := range p.Stages {
		if s.Rollback || s.Skip != "" {
			continue
		}
		switch s.Name {
		case config.StageK8sSync, config.StageK8sPrimaryRollout, config.StageK8sCanaryRollout, config.StageK8sBaselineRollout, config.StageK8sTrafficRouting:
			return true
		}
	}
	return false
}

// locate adds to each object's error the file:line the object was
// rendered from.
func (d *prepared) locate(err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []error
	for _, e := range errs {
		var ke *Error
		if errors.As(e, &ke) && ke.Key.Name != "" {
			if src := d.sourceOf(ke.Key); src != "" {
				e = fmt.Errorf("%w (from %s)", e, src)
			}
		}
		out = append(out, e)
	}
	if len(out) == 1 {
		return out[0]
	}
	return errors.Join(out...)
}

// sourceOf is where the object with key k was rendered from; "" when
// unknown.
func (d *prepared) sourceOf(k Key) string {
	var found string
	for _, o := range d.desired.Objects {
		if o.Key.Group != k.Group || o.Key.Kind != k.Kind || o.Key.Name != k.Name {
			continue
		}
		if o.Key.Namespace == k.Namespace {
			return o.Source.String()
		}
		found = o.Source.String()
	}
	return found
}

// Runner implements deploy.Prepared.
func (d *prepared) Runner(ctx context.Context, p *plan.Plan, opts deploy.RunOptions) (execute.Platform, error) {
	c, err := d.client()
	if err != nil {
		return nil, err
	}
	return d.runner(c, p, opts), nil
}

func (d *prepared) runner(c *Client, p *plan.Plan, opts deploy.RunOptions) *Runner {
	r := &Runner{
		Cluster: c, AppID: d.app.Name, Spec: d.spec, Desired: d.objs,
		ForceConflicts: opts.ForceConflicts,
	}
	r.Namespaces = ScopeOf(r.Desired, c.Namespace())
	if p == nil {
		return r
	}
	r.Head = p.Head.Hash
	if p.Running != nil {
		running := p.Running.Hash
		r.Running = running
		r.RunningObjects = func(ctx context.Context) ([]*unstructured.Unstructured, error) { return d.renderRunning(ctx, running) }
	}
	return r
}

// renderRunning returns the objects of a past commit (rendered with its
// own config), once.
func (d *prepared) renderRunning(ctx context.Context, hash string) ([]*unstructured.Unstructured, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if objs, ok := d.running[hash]; ok {
		return objs, nil
	}
	if d.revision == nil {
		return nil, fmt.Errorf("commit %s cannot be checked out by this run", short(hash))
	}
	rev, err := d.revision(hash)
	if err != nil {
		return nil, err
	}
	m, err := d.p.renderRevision(ctx, rev, d.namespace)
	if err != nil {
		return nil, err
	}
	objs := objectsOfRender(m)
	d.running[hash] = objs
	return objs, nil
}

// Facts implements deploy.Prepared: the values of the head's Secrets, and
// the namespace of the application.
func (d *prepared) Facts() deploy.Facts {
	f := deploy.Facts{Namespace: d.spec.Input.Namespace, Secrets: secretValues(d.objs)}
	if f.Namespace == "" {
		f.Namespace = d.namespace
	}
	return f
}

// Close implements deploy.Prepared.
func (d *prepared) Close() {}

// secretValues returns the values of the Secrets among objs (data decoded,
// stringData as written): what must never be printed.
func secretValues(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, u := range objs {
		if u.GetKind() != "Secret" || u.GroupVersionKind().Group != "" {
			continue
		}
		data, _, _ := unstructured.NestedStringMap(u.Object, "data")
		for _, v := range data {
			if b, err := base64.StdEncoding.DecodeString(v); err == nil && strings.TrimSpace(string(b)) != "" {
				out = append(out, string(b))
			}
		}
		sd, _, _ := unstructured.NestedStringMap(u.Object, "stringData")
		for _, v := range sd {
			out = append(out, v)
		}
	}
	return out
}

func objectsOfRender(m *render.Manifests) []*unstructured.Unstructured {
	if m == nil {
		return nil
	}
	out := make([]*unstructured.Unstructured, 0, len(m.Objects))
	for _, o := range m.Objects {
		out = append(out, o.Object)
	}
	return out
}
