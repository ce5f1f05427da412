// Package ecs is the ECSApp platform: it plans, syncs, rolls back and
// checks the drift of Amazon ECS services (and standalone tasks) with the
// EXTERNAL deployment controller's task sets and the weights of the
// Elastic Load Balancing listener rules, as PipeCD does. See docs/ecs.md.
package ecs

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/gitops-pipe/pipe/internal/awsconf"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/platform"
	"github.com/gitops-pipe/pipe/internal/unseal"
)

// Options are what the ECS platform is built from.
type Options struct {
	// Root is the working tree.
	Root string
	// Config is the repository's .pipe/config.yaml: the ECS platform
	// providers (region, credentials).
	Config *config.PipeSpec
	// Provider names the platform provider to use (--platform-provider).
	Provider string
	// Getenv reads the environment (nil: the process's).
	Getenv func(string) string
	// HTTP is the client of the AWS calls (nil: the SDK's).
	HTTP *http.Client
	// Untrusted: a pull request's plan (platform.Env.Untrusted).
	Untrusted bool
	// MaskAllEnv masks every environment value in plans and drift reports.
	MaskAllEnv bool
	// Poll is the first interval between reads while waiting (default 1s,
	// doubling up to 5s).
	Poll time.Duration
}

// Platform is the ECS platform (deploy.Platform and drift.Platform).
type Platform struct {
	opts Options
	// cfgs are the AWS configurations loaded, one per platform provider.
	cfgs awsconf.Cache
}

// New returns the ECS platform of one run.
func New(opts Options) *Platform { return &Platform{opts: opts} }

// Kind describes the ECS platform to the registry.
func Kind() platform.Kind {
	return platform.Kind{
		Kind: config.KindECSApp,
		Check: func(root string, app *config.App) config.Diagnostics {
			d, err := loadDefinitions(root, app)
			if err == nil && d.Missing != nil {
				return nil // PipeCD plans such an app; its stages refuse
			}
			if err != nil {
				return platform.FileError(app.File, err)
			}
			return nil
		},
		// --mask-all-env, which this platform reads too, is added by the
		// Lambda platform (a flag is added once).
		New: func(env platform.Env, _ any) (platform.Platform, error) {
			opts := Options{Root: env.Root, Config: env.Config, Provider: env.Provider, Getenv: env.Getenv, HTTP: env.HTTP, Untrusted: env.Untrusted}
			if env.Flag != nil {
				opts.MaskAllEnv = env.Flag("mask-all-env") == "true"
			}
			return New(opts), nil
		},
	}
}

// WorkFile implements platform.Platform: nothing is written in the tree.
func (p *Platform) WorkFile(string) bool { return false }

// client connects to ECS and ELB for an application with the ECS
// platform provider's region and credentials (or the environment's).
func (p *Platform) client(ctx context.Context, app *config.App) (*client, error) {
	cfg, err := p.cfgs.LoadProvider(ctx, awsconf.Provider{Spec: p.opts.Config, App: app, Type: config.PlatformECS, Named: p.opts.Provider,
		What: "Amazon ECS", Getenv: p.opts.Getenv, HTTP: p.opts.HTTP, Editable: platform.Editable(p.opts.Root, p.opts.Untrusted)})
	if err != nil {
		return nil, err
	}
	return &client{ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), poll: p.opts.Poll}, nil
}

func load(ctx context.Context, rev *deploy.Revision) (Target, error) {
	tree, err := rev.Open(ctx)
	if err != nil {
		return Target{}, err
	}
	defs, err := loadDefinitions(tree.Root, tree.App)
	if err != nil {
		return Target{}, err
	}
	spec := tree.App.Spec.(*config.ECSApplicationSpec)
	return Target{Defs: defs, Input: spec.Input}, nil
}

// Plan implements deploy.Platform: the definitions at the head and at
// the running commit (or --base) compared offline; with Live, the head
// against the live service and its primary task set's task definition.
func (p *Platform) Plan(ctx context.Context, req deploy.PlanRequest) (*plan.Plan, deploy.Prepared, error) {
	app := req.App
	spec, ok := app.Spec.(*config.ECSApplicationSpec)
	if !ok {
		return nil, nil, fmt.Errorf("%s is a %s, not an ECSApp", app.Name, app.Kind)
	}
	head, err := load(ctx, req.Head)
	if err != nil {
		// The command names the app; the files name themselves.
		return nil, nil, err
	}
	in := planInput{Input: req.Input, Spec: spec, Head: head.Defs, MaskAll: p.opts.MaskAllEnv}
	if req.Running != nil {
		running, err := load(ctx, req.Running)
		if err != nil {
			return nil, nil, fmt.Errorf("at the last successful deployment (%s): %w", req.Running.Commit.Short(), err)
		}
		in.Running, in.Compared = running.Defs, running.Defs
		c := req.Running.Commit
		in.CompareCommit = &c
	} else if req.Base != nil {
		base, err := load(ctx, req.Base)
		if err != nil {
			return nil, nil, fmt.Errorf("at --base %s: %w", req.Base.Commit.Short(), err)
		}
		in.Compared = base.Defs
		c := req.Base.Commit
		in.CompareCommit = &c
	}
	if req.Live && !req.Cancel && head.Defs.Service != nil && head.Defs.Missing == nil {
		cl, err := p.client(ctx, app)
		if err != nil {
			return nil, nil, err
		}
		ls, err := cl.observe(ctx, head.Defs)
		if err != nil {
			return nil, nil, err
		}
		in.Live, in.Compared, in.LiveSummary = true, nil, ls.summary()
		if ls != nil {
			in.Compared = ls.Defs
		}
	}
	pl, err := planECS(in)
	if err != nil {
		return nil, nil, err
	}
	return pl, &prepared{p: p, app: app, spec: spec, head: head, headHash: req.Head.Commit.Hash, revision: req.Revision}, nil
}

type prepared struct {
	p        *Platform
	app      *config.App
	spec     *config.ECSApplicationSpec
	head     Target
	headHash string
	revision func(hash string) (*deploy.Revision, error)
}

// PreFlight implements deploy.Prepared: before anything changes, the
// definitions are checked for PipeCD's secret and attachment templates
// left unrendered (a file the app config does not list as a target):
// deploying them would set the template text; AWS checks the rest when
// they are registered.
func (d *prepared) PreFlight(context.Context, *plan.Plan) error {
	defs := d.head.Defs
	if defs.Missing != nil {
		return defs.Missing
	}
	for _, f := range []struct {
		file string
		doc  map[string]any
	}{{defs.TaskFile, defs.taskDoc}, {defs.ServiceFile, defs.serviceDoc}} {
		if path, v, ok := templated(f.doc, ""); ok {
			return fmt.Errorf("%s: %s is a template of PipeCD's secret management or attachments (%s) that was not rendered: "+
				"list the file in spec.encryption.decryptionTargets (or attachment.targets) of the application's config", f.file, path, v)
		}
	}
	return nil
}

// templated finds a string of a document holding a PipeCD template of
// encrypted secrets or attachments.
func templated(v any, path string) (string, string, bool) {
	switch t := v.(type) {
	case string:
		if unseal.Unrendered(t) {
			return path, strings.TrimSpace(t), true
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if p, s, ok := templated(t[k], p); ok {
				return p, s, true
			}
		}
	case []any:
		for i, e := range t {
			if p, s, ok := templated(e, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, s, true
			}
		}
	}
	return "", "", false
}

// Facts implements deploy.Prepared: container environment values that
// look like credentials are masked in what scripts print.
func (d *prepared) Facts() deploy.Facts {
	var f deploy.Facts
	if d.head.Defs.Missing != nil {
		return f
	}
	for _, c := range d.head.Defs.Task.ContainerDefinitions {
		for _, e := range c.Environment {
			if v := deref(e.Value); len(v) >= 4 && secretEnv(deref(e.Name), v) {
				f.Secrets = append(f.Secrets, v)
			}
		}
	}
	return f
}

// Runner implements deploy.Prepared.
func (d *prepared) Runner(ctx context.Context, p *plan.Plan, _ deploy.RunOptions) (execute.Platform, error) {
	cl, err := d.p.client(ctx, d.app)
	if err != nil {
		return nil, err
	}
	r := &Runner{cl: cl, Head: d.head, HeadHash: d.headHash, QuickSync: d.spec.QuickSync}
	if p.Head.Hash != "" {
		r.HeadHash = p.Head.Hash
	}
	if p.Running != nil {
		hash := p.Running.Hash
		r.RunningHash = hash
		r.Running = func(ctx context.Context) (Target, error) {
			if d.revision == nil {
				return Target{}, fmt.Errorf("commit %s cannot be checked out by this run", shortHash(hash))
			}
			rev, err := d.revision(hash)
			if err != nil {
				return Target{}, err
			}
			return load(ctx, rev)
		}
	}
	return r, nil
}

// Close implements deploy.Prepared.
func (d *prepared) Close() {}
