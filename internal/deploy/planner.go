package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/render"
	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Records is the part of the deployment record store planning reads.
type Records interface {
	LastSuccessful(ctx context.Context, app string) (*state.Record, error)
	// History returns the app's records, newest first (all when limit is 0).
	History(ctx context.Context, app string, limit int) ([]*state.Record, error)
}

// Env is what a run works with. The CLI builds it from flags, environment
// and the repository; nothing here reads them itself.
type Env struct {
	// Root is the repository's working tree, checked out at Head.
	Root string
	Repo *config.Repo
	Git  *source.Repo
	// Records is nil when the records are not read (e.g. --no-records).
	Records  Records
	Renderer *render.Renderer
	// Live returns the observer of an application's live state for live
	// plans; nil plans offline.
	Live func(app string) LiveObserver
	Now  func() time.Time
	// TempDir is where past revisions are exported to render them.
	TempDir string
	// Cluster is the Kubernetes cluster KubernetesApp applications are
	// synced to; nil when the run syncs none.
	Cluster Cluster
	// Terraform runs terraform (or tofu) for TerraformApp applications;
	// nil when the run has none.
	Terraform *TerraformRunner
}

// PlanOptions are the choices of one plan.
type PlanOptions struct {
	// Head is the revision deployed (the working tree must be at it).
	Head string
	// Base is compared with the head when the app has no successful
	// deployment recorded; empty means none.
	Base string
	// Strategy forces the strategy; empty lets the planner decide.
	Strategy plan.Strategy
	// Commander is who asked by hand, when not triggered by a commit.
	Commander string
}

// Plan computes the plan of one application.
func (e *Env) Plan(ctx context.Context, app *config.App, opts PlanOptions) (*plan.Plan, error) {
	p, prep, err := e.plan(ctx, app, opts)
	prep.close()
	return p, err
}

// prepared is what planning made that a sync goes on with: the head's
// rendered objects (Kubernetes), or the initialised workspace and its saved
// plan (Terraform). close releases it.
type prepared struct {
	desired *render.Manifests
	tf      *tfPrepared
}

func (p *prepared) close() {
	if p != nil && p.tf != nil {
		p.tf.close()
	}
}

// plan computes the plan of an application of any kind.
func (e *Env) plan(ctx context.Context, app *config.App, opts PlanOptions) (*plan.Plan, *prepared, error) {
	switch app.Kind {
	case config.KindKubernetesApp:
		p, desired, err := e.planKubernetes(ctx, app, opts)
		if err != nil {
			return nil, nil, err
		}
		return p, &prepared{desired: desired}, nil
	case config.KindTerraformApp:
		p, tf, err := e.planTerraform(ctx, app, opts, false)
		if err != nil {
			return nil, nil, err
		}
		return p, &prepared{tf: tf}, nil
	}
	return nil, nil, fmt.Errorf("planning a %s is not supported yet: pipe plans KubernetesApp and TerraformApp applications", app.Kind)
}

// planKubernetes computes the plan of a KubernetesApp and returns the
// head's rendered objects with it.
func (e *Env) planKubernetes(ctx context.Context, app *config.App, opts PlanOptions) (*plan.Plan, *render.Manifests, error) {
	head, headInfo, err := e.commit(opts.Head)
	if err != nil {
		return nil, nil, err
	}
	desired, err := e.render(ctx, e.Root, app)
	if err != nil {
		return nil, nil, fmt.Errorf("render %s at %s: %w", app.Name, head.Short(), err)
	}
	running, err := e.running(ctx, app)
	if err != nil {
		return nil, nil, err
	}
	in := plan.KubernetesInput{
		App:         plan.App{Name: app.Name, Kind: string(app.Kind), Dir: app.Dir, File: app.File, Labels: app.Labels},
		Spec:        app.Spec.(*config.KubernetesApplicationSpec),
		Head:        plan.Commit{Hash: head.Hash, Subject: headInfo.Subject},
		HeadMessage: headInfo.Message(),
		Desired:     plan.FromRender(desired),
		Strategy:    opts.Strategy,
		Commander:   opts.Commander,
		Now:         e.Now(),
	}
	var compareWith *source.Revision
	if running != nil {
		rev, err := e.renderRevision(ctx, app, running.Target.Hash)
		if err != nil {
			return nil, nil, fmt.Errorf("render the last successful deployment of %s (%s): %w", app.Name, short(running.Target.Hash), err)
		}
		in.Running = rev
		compareWith = &source.Revision{Name: running.Target.Hash, Hash: running.Target.Hash}
	} else if opts.Base != "" {
		rev, err := e.renderRevision(ctx, app, opts.Base)
		if err != nil {
			return nil, nil, fmt.Errorf("render %s at --base %s: %w", app.Name, opts.Base, err)
		}
		in.Base = rev
	}
	if compareWith != nil {
		if files, err := e.Git.ChangedFiles(*compareWith, head); err == nil {
			in.ChangedFiles = files
		}
	}
	if in.ConfigDigest, err = plan.ConfigDigest(app); err != nil {
		return nil, nil, err
	}
	if e.Live != nil {
		live, dry, err := e.Live(app.Name).Observe(ctx, objectsOf(in.Desired))
		if err != nil {
			return nil, nil, fmt.Errorf("observe %s in the cluster: %w", app.Name, err)
		}
		in.Live = plan.NewLive(live, dry)
	}
	p, err := plan.PlanKubernetes(in)
	return p, desired, err
}

func (e *Env) commit(rev string) (source.Revision, *source.Commit, error) {
	if rev == "" {
		rev = "HEAD"
	}
	r, err := e.Git.ResolveRevision(rev)
	if err != nil {
		return source.Revision{}, nil, err
	}
	info, err := e.Git.CommitInfo(r)
	if err != nil {
		return source.Revision{}, nil, err
	}
	return r, info, nil
}

// running returns the app's last successful deployment, nil when none.
func (e *Env) running(ctx context.Context, app *config.App) (*state.Record, error) {
	if e.Records == nil {
		return nil, nil
	}
	rec, err := e.Records.LastSuccessful(ctx, app.Name)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the deployment records of %s: %w", app.Name, err)
	}
	return rec, nil
}

func (e *Env) render(ctx context.Context, root string, app *config.App) (*render.Manifests, error) {
	ka, err := render.KubernetesAppOf(root, app)
	if err != nil {
		return nil, err
	}
	return e.Renderer.Kubernetes(ctx, ka)
}

// renderRevision renders the app as it was at rev, from an export of that
// commit's tree (the working tree is not touched).
func (e *Env) renderRevision(ctx context.Context, app *config.App, rev string) (*plan.Revision, error) {
	r, info, err := e.commit(rev)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(e.TempDir, "pipe-rev-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := e.Git.ExportTree(r, dir); err != nil {
		return nil, err
	}
	m, err := e.render(ctx, dir, app)
	if err != nil {
		return nil, err
	}
	return &plan.Revision{Commit: plan.Commit{Hash: r.Hash, Subject: info.Subject}, Objects: plan.FromRender(m)}, nil
}

func short(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

func objectsOf(objs []plan.Object) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.Object
	}
	return out
}
