package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/klog/v2"

	"github.com/gitops-pipe/pipe/internal/ctxtime"
)

// Options tune a Client. The zero value is ready to use.
type Options struct {
	// QPS and Burst are client-go's client-side rate limit; 0 means 200
	// and 400 (client-go's defaults of 5 and 10 would serialise a sync of
	// hundreds of objects). The apiserver's priority and fairness still
	// applies.
	QPS   float32
	Burst int
	// Concurrency bounds the requests of one operation in flight (apply,
	// dry-run, list, delete); 0 means 16.
	Concurrency int
	// Retry bounds the retries of a request that failed for a transient
	// reason (apiserver unreachable, timing out, overloaded).
	Retry Backoff
	// RequestTimeout bounds each request (watches aside); a request that
	// takes longer counts as a transient failure and is retried. 0 means
	// 30s.
	RequestTimeout time.Duration
	// UserAgent is sent with every request; "" means "pipe".
	UserAgent string
}

// Backoff is a bounded exponential backoff.
type Backoff struct {
	// Attempts is the number of tries of a request in all; 0 means 5.
	Attempts int
	// Initial is the first wait; 0 means 500ms. Each wait doubles, up to
	// Max (0 means 8s).
	Initial, Max time.Duration
	// Sleep waits d or until ctx is done; nil means a timer. Tests inject
	// it.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (o Options) withDefaults() Options {
	if o.QPS == 0 {
		o.QPS = 200
	}
	if o.Burst == 0 {
		o.Burst = 400
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Retry.Attempts <= 0 {
		o.Retry.Attempts = 5
	}
	if o.Retry.Initial <= 0 {
		o.Retry.Initial = 500 * time.Millisecond
	}
	if o.Retry.Max <= 0 {
		o.Retry.Max = 8 * time.Second
	}
	if o.Retry.Sleep == nil {
		o.Retry.Sleep = ctxtime.Sleep
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.UserAgent == "" {
		o.UserAgent = "pipe"
	}
	return o
}

// Client talks to one cluster. It is safe for concurrent use.
type Client struct {
	opts      Options
	host      string
	namespace string
	rest      rest.Interface // unversioned, JSON: for requests whose status code matters
	dynamic   dynamic.Interface
	disco     discovery.CachedDiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper

	resetMu   sync.Mutex
	lastReset time.Time
}

// quietKlog stops client-go's own logging (klog) from writing lines like
// "E1206 memcache.go:381] Couldn't get current server API group list" to
// stderr: every error it logs is also returned, and pipe reports it once,
// in its own words.
var quietKlog = sync.OnceFunc(func() { klog.SetLogger(logr.Discard()) })

// New connects with the CLI's connection settings: typically a
// *genericclioptions.ConfigFlags bound to the standard kubectl flags
// (--kubeconfig, --context, --namespace, --server, --token, ...). Nothing is
// sent to the cluster until the first operation.
func New(getter genericclioptions.RESTClientGetter, opts Options) (*Client, error) {
	quietKlog()
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		return nil, connectError(err)
	}
	ns, _, err := getter.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, connectError(err)
	}
	return NewForConfig(cfg, ns, opts)
}

// NewForConfig connects with a REST config; namespace is where namespaced
// objects without one go ("" means "default").
func NewForConfig(cfg *rest.Config, namespace string, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	if namespace == "" {
		namespace = "default"
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	cfg.UserAgent = opts.UserAgent
	cfg.WarningHandler = nil
	cfg.WarningHandlerWithContext = warningHandler{}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, connectError(err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, connectError(err)
	}
	rc, err := rest.UnversionedRESTClientForConfigAndClient(dynamic.ConfigFor(cfg), httpClient)
	if err != nil {
		return nil, connectError(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, connectError(err)
	}
	cached := memory.NewMemCacheClient(dc)
	return &Client{
		opts:      opts,
		host:      cfg.Host,
		namespace: namespace,
		rest:      rc,
		dynamic:   dyn,
		disco:     cached,
		mapper:    restmapper.NewDeferredDiscoveryRESTMapper(cached),
	}, nil
}

func connectError(err error) error {
	return &Error{Op: "connect", Reason: ReasonConfig, Msg: "cannot configure the Kubernetes client: " + err.Error(),
		Hint: "check --kubeconfig / --context (or the platform provider's kubeConfigPath)", Err: err}
}

// Namespace is where namespaced objects without a namespace go: the
// --namespace setting, else the kubeconfig context's namespace, else
// "default". Renderers should key objects with the same default.
func (c *Client) Namespace() string { return c.namespace }

// Host is the apiserver URL.
func (c *Client) Host() string { return c.host }

// mapping resolves a kind to its resource. A kind the cached discovery does
// not know is looked up again after refreshing discovery (at most once a
// second), for CRDs created meanwhile.
func (c *Client) mapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	if err == nil {
		return m, nil
	}
	if !meta.IsNoMatchError(err) {
		return nil, c.discoveryError(gvk, err)
	}
	c.resetMapper(ctx, time.Second)
	m, err = c.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, noKindError(gvk, err)
		}
		return nil, c.discoveryError(gvk, err)
	}
	return m, nil
}

// resetMapper drops the cached discovery unless it was refreshed within
// minAge.
func (c *Client) resetMapper(ctx context.Context, minAge time.Duration) {
	c.resetMu.Lock()
	defer c.resetMu.Unlock()
	if minAge > 0 && time.Since(c.lastReset) < minAge {
		return
	}
	c.mapper.ResetWithContext(ctx)
	c.lastReset = time.Now()
}

func (c *Client) discoveryError(gvk schema.GroupVersionKind, err error) error {
	if e := classify(err); e != nil {
		var pe *Error
		if errors.As(e, &pe) && pe.Reason != ReasonOther {
			return e
		}
	}
	return &Error{Op: "discover", Reason: ReasonUnreachable,
		Msg: fmt.Sprintf("cannot discover the API of the cluster at %s (for %s): %v", c.host, gvkString(gvk), err), Err: err}
}

func gvkString(gvk schema.GroupVersionKind) string {
	if gvk.Group == "" {
		return gvk.Kind + "/" + gvk.Version
	}
	return gvk.Kind + "." + gvk.Group + "/" + gvk.Version
}
