package render

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// maxDownload bounds what one download may read (a large repository index
// is tens of MB; Helm caps a chart at 100 MiB decompressed).
const maxDownload = 256 << 20

// cacheKindValues is the download cache's kind of files at a URL (values
// files, schemas, kustomize resources), by URL.
const cacheKindValues = "helm-values"

// fetchState is what one Renderer downloaded: the parsed repository
// indexes and OCI repositories' tag lists (each read once per run), and
// the download cache.
type fetchState struct {
	mu      sync.Mutex
	indexes map[string]*memo[*chartIndex]
	// tags are OCI repositories' tags, by repository (see resolveTag).
	tags map[string]*memo[[]string]
	// insecure are the clients of `insecure: true` repositories, by
	// name: one each, so that their connections are reused.
	insecure map[string]*http.Client

	cacheOnce sync.Once
	cache     *fetchcache.Cache
}

// cache returns the Renderer's download cache (CacheDir, Offline).
func (r *Renderer) cache() *fetchcache.Cache {
	r.fetch.cacheOnce.Do(func() {
		r.fetch.cache = fetchcache.New(r.CacheDir, fetchcache.Options{Offline: r.Offline, Warn: r.Warn})
	})
	return r.fetch.cache
}

// memo is what one Renderer downloaded of one key (a repository's index,
// an OCI repository's tags): loaded once, concurrent callers of the key
// waiting for the first. A failure is not kept: the next caller tries
// again.
type memo[T any] struct {
	mu   sync.Mutex
	v    T
	done bool
}

// memoized returns the value of key in m, one of the Renderer's memos
// (guarded by r.fetch.mu), loading it at the first call that succeeds.
func memoized[T any](r *Renderer, m *map[string]*memo[T], key string, load func() (T, error)) (T, error) {
	r.fetch.mu.Lock()
	e := (*m)[key]
	if e == nil {
		if *m == nil {
			*m = map[string]*memo[T]{}
		}
		e = &memo[T]{}
		(*m)[key] = e
	}
	r.fetch.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.done {
		v, err := load()
		if err != nil {
			var zero T
			return zero, err
		}
		e.v, e.done = v, true
	}
	return e.v, nil
}

// get downloads a file at a URL (what it is names it in messages: "the
// values file") through the injected client, without credentials: from
// the network each time (a file at a URL may change), kept in the cache
// for offline runs, which read the copy of the last run that had network.
func (r *Renderer) get(ctx context.Context, what, rawURL string) ([]byte, error) {
	return r.fetchKept(cacheKindValues, rawURL, what+" "+redactURL(rawURL), maxDownload,
		func() ([]byte, error) { return r.getWith(ctx, r.HTTP, rawURL, "", "") }, nil)
}

// fetchKept is a download from the network each time it is asked for,
// kept in the cache as (kind, key) for offline runs, which read the copy
// of the last run that had network (at most max bytes; what names it in
// the miss). check, when given, runs on the bytes of either: a download
// that fails it is not cached, nor one of more than max bytes, which
// could not be read back.
func (r *Renderer) fetchKept(kind, key, what string, max int64, download func() ([]byte, error), check func([]byte) error) ([]byte, error) {
	c := r.cache()
	if c.Offline() {
		b, ok := c.Get(kind, key, max)
		if !ok {
			return nil, c.Missing(what)
		}
		if check != nil {
			if err := check(b); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	b, err := download()
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(b); err != nil {
			return nil, err
		}
	}
	if int64(len(b)) <= max {
		c.Put(kind, key, b)
	}
	return b, nil
}

// getWith downloads a URL with the client c (nil refuses), at most
// maxDownload bytes, with basic auth when user is set. It never reads the
// cache: callers decide what may come from it.
func (r *Renderer) getWith(ctx context.Context, c *http.Client, rawURL, user, password string) ([]byte, error) {
	if r.Offline {
		// Callers check the cache first; this is the last line.
		return nil, r.cache().Missing(redactURL(rawURL))
	}
	if c == nil {
		return nil, fmt.Errorf("cannot download %s: no HTTP client was given to rendering", redactURL(rawURL))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, redact.Error(err)
	}
	if user != "" || password != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, redact.Error(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("GET %s: %s", redactURL(rawURL), resp.Status)
	}
	if resp.ContentLength > maxDownload {
		return nil, fmt.Errorf("GET %s: the response is %s, more than the %s pipe downloads", redactURL(rawURL), fsafe.Bytes(resp.ContentLength), fsafe.Bytes(maxDownload))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redactURL(rawURL), redact.Error(err))
	}
	if len(b) > maxDownload {
		return nil, fmt.Errorf("GET %s: the response is larger than the %s pipe downloads", redactURL(rawURL), fsafe.Bytes(maxDownload))
	}
	return b, nil
}

// redactURL drops the credentials of a URL for messages (see redact.URL).
func redactURL(s string) string { return redact.URL(s) }
