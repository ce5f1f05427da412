package lambda

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/gitops-pipe/pipe/internal/awsconf"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/platform"
	"github.com/gitops-pipe/pipe/internal/unseal"
)

// Options are what the Lambda platform is built from.
type Options struct {
	// Root is the working tree.
	Root string
	// Config is the repository's .pipe/config.yaml (nil when none): the
	// LAMBDA platform providers (region, credentials).
	Config *config.PipeSpec
	// Provider names the platform provider to use (--platform-provider).
	Provider string
	// Getenv reads the environment (nil: the process's): AWS_* variables.
	Getenv func(string) string
	// HTTP is the client of the AWS calls (nil: the SDK's).
	HTTP *http.Client
	// Say narrates; Warn warns; nil says nothing.
	Say  func(format string, args ...any)
	Warn func(msg string)
	// Untrusted: a pull request's plan; a credentials or token file inside
	// the working tree is refused (platform.Env.Untrusted).
	Untrusted bool
	// MaskAllEnv masks every environment value in plans and drift reports.
	MaskAllEnv bool
	// Git fetches function code kept in another Git repository.
	Git fetcher
	// Poll is the first interval between reads of an update's status
	// (default 500ms, doubling up to 2s).
	Poll time.Duration
}

// Platform is the Lambda platform: it plans, syncs, rolls back and checks
// the drift of LambdaApp applications with the AWS Lambda API
// (deploy.Platform and drift.Platform).
type Platform struct {
	opts Options
	// cfgs are the AWS configurations loaded, one per platform provider.
	cfgs awsconf.Cache
}

// New returns the Lambda platform of one run.
func New(opts Options) *Platform { return &Platform{opts: opts} }

// WorkFile implements platform.Platform: nothing is written in the
// working tree.
func (p *Platform) WorkFile(string) bool { return false }

// client connects to AWS Lambda for an application, with the LAMBDA
// platform provider's region and credentials (or the environment's).
func (p *Platform) client(ctx context.Context, app *config.App) (*functions, error) {
	cfg, err := p.cfgs.LoadProvider(ctx, awsconf.Provider{Spec: p.opts.Config, App: app, Type: config.PlatformLambda, Named: p.opts.Provider,
		What: "AWS Lambda", Getenv: p.opts.Getenv, HTTP: p.opts.HTTP, Editable: platform.Editable(p.opts.Root, p.opts.Untrusted)})
	if err != nil {
		return nil, err
	}
	return &functions{c: lambda.NewFromConfig(cfg), poll: p.opts.Poll}, nil
}

// load reads the application's function manifest at a revision.
func load(ctx context.Context, rev *deploy.Revision) (Target, error) {
	tree, err := rev.Open(ctx)
	if err != nil {
		return Target{}, err
	}
	return loadTree(tree)
}

func loadTree(tree *deploy.Tree) (Target, error) {
	spec, ok := tree.App.Spec.(*config.LambdaApplicationSpec)
	if !ok {
		return Target{}, fmt.Errorf("%s is a %s, not a LambdaApp", tree.App.Name, tree.App.Kind)
	}
	file := spec.Input.FunctionManifestFile
	if file == "" {
		file = "function.yaml"
	}
	rel := path.Join(tree.App.Dir, file)
	root, err := os.OpenRoot(tree.Root)
	if err != nil {
		return Target{}, err
	}
	defer root.Close()
	if _, err := root.Lstat(filepath.FromSlash(rel)); errors.Is(err, fs.ErrNotExist) {
		// PipeCD plans such an app (version "unknown"): its pipeline may
		// deploy it another way (CUSTOM_SYNC). The Lambda stages refuse.
		return Target{Source: rel, Missing: fmt.Errorf("%s does not exist: the function manifest (input.functionManifestFile, default function.yaml) is what the Lambda stages deploy", rel)}, nil
	}
	f := config.ReadLambdaFunctionIn(root, rel)
	if err := f.Err(); err != nil {
		return Target{}, err
	}
	if f.Spec == nil {
		return Target{}, fmt.Errorf("%s: no function spec", rel)
	}
	src := rel
	if pos, ok := f.Positions["spec"]; ok && pos.Line > 0 {
		src = fmt.Sprintf("%s:%d", rel, pos.Line)
	}
	return Target{Config: desiredConfig(f.Spec), Code: codeOf(f.Spec), Source: src, File: rel, Positions: f.Positions}, nil
}

// at is the file:line of a field of the manifest ("spec.memory"), or
// the manifest's.
func (t Target) at(field string) string {
	if pos, ok := t.Positions[field]; ok && pos.Line > 0 && t.File != "" {
		return fmt.Sprintf("%s:%d", t.File, pos.Line)
	}
	return t.Source
}

// Plan implements deploy.Platform: the function manifests at the head
// and at the running commit (or --base) are compared offline; with Live,
// the head is compared with the live function.
func (p *Platform) Plan(ctx context.Context, req deploy.PlanRequest) (*plan.Plan, deploy.Prepared, error) {
	app := req.App
	spec, ok := app.Spec.(*config.LambdaApplicationSpec)
	if !ok {
		return nil, nil, fmt.Errorf("%s is a %s, not a LambdaApp", app.Name, app.Kind)
	}
	head, err := load(ctx, req.Head)
	if err != nil {
		// The command names the app; the files name themselves.
		return nil, nil, err
	}
	in := planInput{Input: req.Input, Spec: spec, Head: head, Mask: masker{All: p.opts.MaskAllEnv}}
	prep := &prepared{p: p, app: app, head: head, revision: req.Revision}
	if req.Running != nil {
		running, err := load(ctx, req.Running)
		if err != nil {
			return nil, nil, fmt.Errorf("at the last successful deployment (%s): %w", req.Running.Commit.Short(), err)
		}
		in.Running = &running
		if running.Missing == nil {
			in.Compared = &running
			c := req.Running.Commit
			in.CompareCommit = &c
		}
	} else if req.Base != nil {
		base, err := load(ctx, req.Base)
		if err != nil {
			return nil, nil, fmt.Errorf("at --base %s: %w", req.Base.Commit.Short(), err)
		}
		if base.Missing == nil {
			in.Compared = &base
			c := req.Base.Commit
			in.CompareCommit = &c
		}
	}
	if req.Live && !req.Cancel && head.Missing == nil {
		fns, err := p.client(ctx, app)
		if err != nil {
			return nil, nil, err
		}
		cur, err := fns.get(ctx, head.Config.Name)
		if err != nil {
			return nil, nil, err
		}
		in.Live, in.Compared = true, nil
		if cur.Config != nil {
			lt := Target{Config: liveConfig(cur.Config, cur.Code, cur.Tags), Code: code{Kind: head.Code.Kind}}
			if lt.Config.Image != "" {
				lt.Code = code{Kind: codeImage, Image: lt.Config.Image}
			}
			in.Compared = &lt
			if in.LiveRouting, err = fns.alias(ctx, head.Config.Name); err != nil {
				return nil, nil, err
			}
		}
	}
	pl, err := planLambda(in)
	if err != nil {
		return nil, nil, err
	}
	return pl, prep, nil
}

// prepared is a planned LambdaApp deployment.
type prepared struct {
	p        *Platform
	app      *config.App
	head     Target
	revision func(hash string) (*deploy.Revision, error)
	// code is the head's code, readied by PreFlight.
	code *zipped
}

// PreFlight implements deploy.Prepared: before anything changes, the
// manifest is checked for what this version cannot deploy, and the head's
// code is readied (a Git source fetched and zipped), so that an
// unreachable source fails the deployment before it starts.
func (d *prepared) PreFlight(ctx context.Context, p *plan.Plan) error {
	if !changesFunction(p) {
		return nil
	}
	if d.head.Missing != nil {
		return d.head.Missing
	}
	if err := templated(d.head); err != nil {
		return err
	}
	z, err := resolve(ctx, d.head.Code, d.p.opts.Git)
	if err != nil {
		return err
	}
	d.code = z
	return nil
}

// templated refuses a manifest that still holds PipeCD's secret or
// attachment templates (a file the app config does not list as a
// decryption or attachment target is not rendered): deploying them would
// set the template text.
func templated(t Target) error {
	for _, k := range sortedKeys(t.Config.Environment) {
		v := t.Config.Environment[k]
		if unseal.Unrendered(v) {
			return fmt.Errorf("%s: environments.%s is a template of PipeCD's secret management or attachments (%s) that was not rendered: "+
				"list the file in spec.encryption.decryptionTargets (or attachment.targets) of the application's config", t.at("spec.environments."+k), k, strings.TrimSpace(v))
		}
	}
	return nil
}

func changesFunction(p *plan.Plan) bool {
	for _, s := range p.Stages {
		if s.Rollback || s.Skip != "" {
			continue
		}
		switch s.Name {
		case config.StageLambdaSync, config.StageLambdaCanaryRollout, config.StageLambdaPromote:
			return true
		}
	}
	return false
}

// Facts implements deploy.Prepared: the function's environment values
// that look like credentials are masked in what scripts print.
func (d *prepared) Facts() deploy.Facts {
	var f deploy.Facts
	m := masker{}
	for k, v := range d.head.Config.Environment {
		if m.secret(k, v) && len(v) >= 4 {
			f.Secrets = append(f.Secrets, v)
		}
	}
	return f
}

// Runner implements deploy.Prepared.
func (d *prepared) Runner(ctx context.Context, p *plan.Plan, _ deploy.RunOptions) (execute.Platform, error) {
	fns, err := d.p.client(ctx, d.app)
	if err != nil {
		return nil, err
	}
	r := &Runner{fns: fns, Head: d.head, head: d.code,
		resolve: func(ctx context.Context, c code) (*zipped, error) { return resolve(ctx, c, d.p.opts.Git) }}
	if p.Running != nil {
		hash := p.Running.Hash
		r.RunningHash = hash
		r.Running = func(ctx context.Context) (Target, error) {
			if d.revision == nil {
				return Target{}, fmt.Errorf("commit %s cannot be checked out by this run", short(hash))
			}
			rev, err := d.revision(hash)
			if err != nil {
				return Target{}, err
			}
			t, err := load(ctx, rev)
			if err == nil && t.Missing != nil {
				err = t.Missing
			}
			return t, err
		}
	}
	return r, nil
}

// Close implements deploy.Prepared.
func (d *prepared) Close() {}

var errNoFunction = errors.New("function does not exist")
