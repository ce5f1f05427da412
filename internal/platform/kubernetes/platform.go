package kubernetes

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/render"
)

// Platform is the Kubernetes platform: it plans, syncs, rolls back and
// checks the drift of KubernetesApp applications (deploy.Platform and
// drift.Platform). One Platform serves one run of pipe: it connects to
// each cluster once, when an application first needs it.
type Platform struct {
	opts PlatformOptions

	mu         sync.Mutex
	clients    map[string]*connection
	render     *render.Renderer
	renderErr  error
	renderOnce sync.Once
}

// PlatformOptions are what the Kubernetes platform is built from.
type PlatformOptions struct {
	// Root is the working tree: drift checks compare the live state with it.
	Root string
	// Connect opens the cluster of an application and says where its
	// settings come from (Connector.Connect); key names the connection, so
	// that applications with the same key share a client.
	Connect func(app *config.App) (c *Client, where string, err error)
	// Key names the connection of an application (Connector.key); nil
	// gives every application the same.
	Key func(app *config.App) (string, error)
	// Namespace is the namespace of an application's objects that name
	// none, known without a request (Connector.Namespace); nil or "" means
	// the client's once connected, "default" before.
	Namespace func(app *config.App) string
	// ChartRepositories are .pipe/config.yaml's, with the environment
	// their credentials are read from (passwordFile: see
	// render.ChartReposFromConfig); resolved when a chart from a
	// repository is first rendered.
	ChartRepositories []config.ChartRepository
	// ChartRegistries are the OCI registries of .pipe/config.yaml, whose
	// passwords are read when a chart of the registry is first fetched.
	ChartRegistries []config.ChartRegistry
	Getenv          func(string) string
	// HTTP downloads charts and remote values files; nil refuses them.
	HTTP *http.Client
	// Git fetches charts from other Git repositories; nil refuses them.
	Git render.GitFetcher
	// CacheDir and Offline: the download cache and --offline (see
	// render.Renderer).
	CacheDir string
	Offline  bool
	// Untrusted is set on a pull request's plan: rendering then uses no
	// ambient credentials (render.Renderer.Untrusted).
	Untrusted bool
	// Say narrates (stderr), Warn warns; nil says nothing.
	Say  func(format string, args ...any)
	Warn func(msg string)
}

// NewPlatform returns the Kubernetes platform of one run.
func NewPlatform(opts PlatformOptions) *Platform {
	return &Platform{opts: opts, clients: map[string]*connection{}}
}

// NewConnectedPlatform is a platform whose every application is in the
// cluster of c (for tests and tools that hold a client already).
func NewConnectedPlatform(c *Client, opts PlatformOptions) *Platform {
	opts.Connect = func(*config.App) (*Client, string, error) { return c, "the given client", nil }
	opts.Key = nil
	opts.Namespace = func(*config.App) string { return c.Namespace() }
	return NewPlatform(opts)
}

// connection is one cluster's client, opened once.
type connection struct {
	once   sync.Once
	client *Client
	where  string
	err    error
}

// connect returns the client of the application's cluster, connecting
// once per cluster.
func (p *Platform) connect(app *config.App) (*Client, string, error) {
	if p.opts.Connect == nil {
		return nil, "", fmt.Errorf("%w: this run was given no way to reach a Kubernetes cluster", ErrConnect)
	}
	key := ""
	if p.opts.Key != nil {
		k, err := p.opts.Key(app)
		if err != nil {
			return nil, "", err
		}
		key = k
	}
	p.mu.Lock()
	c := p.clients[key]
	if c == nil {
		c = &connection{}
		p.clients[key] = c
	}
	p.mu.Unlock()
	c.once.Do(func() {
		c.client, c.where, c.err = p.opts.Connect(app)
		if c.err == nil {
			p.say("cluster %s (%s)", c.client.Host(), c.where)
		}
	})
	return c.client, c.where, c.err
}

// namespace is the default namespace of the application's objects.
func (p *Platform) namespace(app *config.App) string {
	if p.opts.Namespace != nil {
		if ns := p.opts.Namespace(app); ns != "" {
			return ns
		}
	}
	return "default"
}

// renderer returns the run's renderer, built once: its downloads (indexes,
// the cache) serve every application and cluster, each application
// naming its default namespace (render.KubernetesApp.DefaultNamespace).
func (p *Platform) renderer() (*render.Renderer, error) {
	p.renderOnce.Do(func() {
		var (
			repos []render.ChartRepo
			regs  []render.ChartRegistry
		)
		if len(p.opts.ChartRepositories) > 0 {
			repos, p.renderErr = render.ChartReposFromConfig(p.opts.ChartRepositories, p.opts.Getenv)
		}
		if p.renderErr == nil && len(p.opts.ChartRegistries) > 0 {
			regs, p.renderErr = render.ChartRegistriesFromConfig(p.opts.ChartRegistries, p.opts.Getenv)
		}
		if p.renderErr == nil {
			p.render = &render.Renderer{HTTP: p.opts.HTTP, Git: p.opts.Git, ChartRepos: repos, ChartRegistries: regs,
				CacheDir: p.opts.CacheDir, Offline: p.opts.Offline, Warn: p.opts.Warn, Untrusted: p.opts.Untrusted}
		}
	})
	if p.renderErr != nil {
		return nil, fmt.Errorf("chart repositories and registries of %s: %w", config.RepoConfigFile, p.renderErr)
	}
	return p.render, nil
}

func (p *Platform) say(format string, args ...any) {
	if p.opts.Say != nil {
		p.opts.Say(format, args...)
	}
}
