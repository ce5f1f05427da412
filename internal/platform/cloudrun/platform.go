// Package cloudrun is the CloudRunApp platform: it plans, syncs, rolls
// back and checks the drift of Google Cloud Run services through the
// Cloud Run Admin API v1 (the Knative-shaped one) with Google's own client,
// as PipeCD does: a deterministic revision per commit, traffic moved
// between the new and the running revision. See docs/cloudrun.md.
package cloudrun

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/api/option"
	run "google.golang.org/api/run/v1"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/platform"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/gitops-pipe/pipe/internal/unseal"
)

// Options are what the Cloud Run platform is built from.
type Options struct {
	Root     string
	Config   *config.PipeSpec
	Provider string
	// Getenv reads the environment (nil: none): PIPE_CLOUDRUN_ENDPOINT,
	// PIPE_CLOUDRUN_PROJECT, GOOGLE_CLOUD_PROJECT, CLOUDSDK_RUN_REGION...
	Getenv    func(string) string
	HTTP      *http.Client
	UserAgent string
	Untrusted bool
	// MaskAllEnv masks every environment value in plans and reports.
	MaskAllEnv bool
	// Poll is the first interval between reads while waiting.
	Poll time.Duration
}

// Platform is the Cloud Run platform (deploy.Platform, drift.Platform).
type Platform struct{ opts Options }

// New returns the Cloud Run platform of one run.
func New(opts Options) *Platform { return &Platform{opts: opts} }

// Kind describes the Cloud Run platform to the registry.
func Kind() platform.Kind {
	return platform.Kind{
		Kind: config.KindCloudRunApp,
		Check: func(root string, app *config.App) config.Diagnostics {
			if _, err := loadManifest(root, app); err != nil {
				return platform.FileError(app.File, err)
			}
			return nil
		},
		New: func(env platform.Env, _ any) (platform.Platform, error) {
			opts := Options{Root: env.Root, Config: env.Config, Provider: env.Provider, Getenv: env.Getenv,
				HTTP: env.HTTP, UserAgent: env.UserAgent, Untrusted: env.Untrusted}
			if env.Flag != nil {
				// --mask-all-env is added by the Lambda platform.
				opts.MaskAllEnv = env.Flag("mask-all-env") == "true"
			}
			return New(opts), nil
		},
	}
}

// WorkFile implements platform.Platform.
func (p *Platform) WorkFile(string) bool { return false }

func (p *Platform) getenv(k string) string {
	if p.opts.Getenv == nil {
		return ""
	}
	return p.opts.Getenv(k)
}

// client connects to the Cloud Run Admin API for an application: the
// CLOUDRUN platform provider's project, region, credentials and endpoint,
// or the environment's.
func (p *Platform) client(ctx context.Context, app *config.App) (*client, error) {
	prov, err := p.opts.Config.PlatformProviderFor(app, config.PlatformCloudRun, p.opts.Provider)
	if err != nil {
		return nil, err
	}
	var c config.CloudRunProviderConfig
	where := "Cloud Run"
	if prov != nil && prov.CloudRun() != nil {
		c = *prov.CloudRun()
		where = fmt.Sprintf("%s platform provider %s", config.RepoConfigFile, prov.Name)
	}
	project := firstOf(c.Project, p.getenv("PIPE_CLOUDRUN_PROJECT"), p.getenv("GOOGLE_CLOUD_PROJECT"), p.getenv("CLOUDSDK_CORE_PROJECT"))
	region := firstOf(c.Region, p.getenv("CLOUDSDK_RUN_REGION"))
	endpoint := firstOf(p.getenv("PIPE_CLOUDRUN_ENDPOINT"), c.Endpoint)
	if project == "" {
		return nil, fmt.Errorf("%s: no Google Cloud project: set `config.project` of a CLOUDRUN platform provider in %s (or GOOGLE_CLOUD_PROJECT)", where, config.RepoConfigFile)
	}
	if endpoint == "" {
		if region == "" {
			return nil, fmt.Errorf("%s: no region: set `config.region` of a CLOUDRUN platform provider in %s (or CLOUDSDK_RUN_REGION)", where, config.RepoConfigFile)
		}
		endpoint = "https://" + region + "-run.googleapis.com/"
	}
	if !strings.HasSuffix(endpoint, "/") {
		endpoint += "/"
	}
	opts := []option.ClientOption{option.WithEndpoint(endpoint)}
	if p.opts.UserAgent != "" {
		opts = append(opts, option.WithUserAgent(p.opts.UserAgent))
	}
	u, _ := url.Parse(endpoint)
	switch {
	case u != nil && u.Scheme == "http" && redact.Loopback(u.Hostname()):
		// A local emulator: no credentials are sent anywhere.
		opts = append(opts, option.WithoutAuthentication())
		if p.opts.HTTP != nil {
			opts = append(opts, option.WithHTTPClient(p.opts.HTTP))
		}
	case redact.Cleartext(endpoint):
		return nil, fmt.Errorf("%s: endpoint %s is plain http to another machine: credentials would cross the network unencrypted; use https", where, redact.URL(endpoint))
	case c.CredentialsFile != "":
		if p.opts.Untrusted && platform.InWorkTree(p.opts.Root, string(c.CredentialsFile)) {
			return nil, fmt.Errorf("%s: config.credentialsFile %s is inside the repository, so this pull request can change it; a plan of a pull request reads no credentials from the checkout", where, c.CredentialsFile)
		}
		opts = append(opts, option.WithCredentialsFile(string(c.CredentialsFile)))
	}
	api, err := run.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot set up the Cloud Run client: %v; check the credentials (Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, or google-github-actions/auth in a GitHub job)", where, err)
	}
	return &client{api: api, project: project, poll: p.opts.Poll}, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func load(ctx context.Context, rev *deploy.Revision) (*Manifest, error) {
	tree, err := rev.Open(ctx)
	if err != nil {
		return nil, err
	}
	return loadManifest(tree.Root, tree.App)
}

// Plan implements deploy.Platform: the service manifests at the head and
// at the running commit (or --base) compared offline; with Live, the head
// against the live service.
func (p *Platform) Plan(ctx context.Context, req deploy.PlanRequest) (*plan.Plan, deploy.Prepared, error) {
	app := req.App
	spec, ok := app.Spec.(*config.CloudRunApplicationSpec)
	if !ok {
		return nil, nil, fmt.Errorf("%s is a %s, not a CloudRunApp", app.Name, app.Kind)
	}
	head, err := load(ctx, req.Head)
	if err != nil {
		return nil, nil, err
	}
	in := planInput{Input: req.Input, Spec: spec, Head: head, HeadHash: req.Head.Commit.Hash, MaskAll: p.opts.MaskAllEnv}
	if req.Running != nil {
		running, err := load(ctx, req.Running)
		if err != nil {
			return nil, nil, fmt.Errorf("at the last successful deployment (%s): %w", req.Running.Commit.Short(), err)
		}
		in.Running, in.Compared, in.RunningHash = running, running, req.Running.Commit.Hash
		c := req.Running.Commit
		in.CompareCommit = &c
	} else if req.Base != nil {
		base, err := load(ctx, req.Base)
		if err != nil {
			return nil, nil, fmt.Errorf("at --base %s: %w", req.Base.Commit.Short(), err)
		}
		in.Compared = base
		c := req.Base.Commit
		in.CompareCommit = &c
	}
	if req.Live && !req.Cancel {
		cl, err := p.client(ctx, app)
		if err != nil {
			return nil, nil, err
		}
		live, err := cl.get(ctx, head.Name)
		if err != nil {
			return nil, nil, err
		}
		in.Live, in.Compared = true, nil
		if live != nil {
			m, err := liveManifest(live)
			if err != nil {
				return nil, nil, err
			}
			in.Compared = m
			if live.Status != nil {
				in.LiveTraffic = traffic(live.Status.Traffic)
			}
		}
	}
	pl, err := planCloudRun(in)
	if err != nil {
		return nil, nil, err
	}
	return pl, &prepared{p: p, app: app, head: head, headHash: req.Head.Commit.Hash, revision: req.Revision}, nil
}

// liveManifest is a live service as a manifest document.
func liveManifest(s *run.Service) (*Manifest, error) {
	b, err := s.MarshalJSON()
	if err != nil {
		return nil, err
	}
	m, err := parseManifest("live service", b)
	if err != nil {
		return nil, err
	}
	return m, nil
}

type prepared struct {
	p        *Platform
	app      *config.App
	head     *Manifest
	headHash string
	revision func(hash string) (*deploy.Revision, error)
}

// PreFlight implements deploy.Prepared: the manifest must not hold
// PipeCD's secret or attachment templates left unrendered (a file the
// app config does not list as a target): deploying them would set the
// template text; Cloud Run checks the rest when the service is applied.
func (d *prepared) PreFlight(context.Context, *plan.Plan) error {
	var found string
	eachEnv(d.head.Doc, func(container string, e map[string]any) {
		v, _ := e["value"].(string)
		if found == "" && unseal.Unrendered(v) {
			name, _ := e["name"].(string)
			found = fmt.Sprintf("%s: the environment variable %s of container %s is a template of PipeCD's secret management or attachments (%s) that was not rendered: "+
				"list the file in spec.encryption.decryptionTargets (or attachment.targets) of the application's config", d.head.File, name, container, strings.TrimSpace(v))
		}
	})
	if found != "" {
		return fmt.Errorf("%s", found)
	}
	return nil
}

// Facts implements deploy.Prepared.
func (d *prepared) Facts() deploy.Facts {
	var f deploy.Facts
	eachEnv(d.head.Doc, func(_ string, e map[string]any) {
		name, _ := e["name"].(string)
		if v, _ := e["value"].(string); len(v) >= 4 && redact.SecretVar(false, name, v) {
			f.Secrets = append(f.Secrets, v)
		}
	})
	return f
}

// Runner implements deploy.Prepared.
func (d *prepared) Runner(ctx context.Context, p *plan.Plan, _ deploy.RunOptions) (execute.Platform, error) {
	cl, err := d.p.client(ctx, d.app)
	if err != nil {
		return nil, err
	}
	r := &Runner{cl: cl, App: d.app.Name, Head: d.head, HeadHash: d.headHash}
	if p.Head.Hash != "" {
		r.HeadHash = p.Head.Hash
	}
	if p.Running != nil {
		hash := p.Running.Hash
		r.RunningHash = hash
		r.Running = func(ctx context.Context) (*Manifest, error) {
			if d.revision == nil {
				return nil, fmt.Errorf("commit %s cannot be checked out by this run", short(hash))
			}
			rev, err := d.revision(hash)
			if err != nil {
				return nil, err
			}
			return load(ctx, rev)
		}
	}
	return r, nil
}

// Close implements deploy.Prepared.
func (d *prepared) Close() {}
