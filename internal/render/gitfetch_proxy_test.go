package render

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// forwardProxy is an HTTP proxy like the CLI's guard: absolute-form
// requests are forwarded, CONNECT is tunnelled; it records the hosts
// asked for.
type forwardProxy struct {
	*httptest.Server
	mu       sync.Mutex
	absolute map[string]int // host → absolute-form requests
	connect  map[string]int // host → CONNECT requests
}

func newForwardProxy(t *testing.T) *forwardProxy {
	t.Helper()
	p := &forwardProxy{absolute: map[string]int{}, connect: map[string]int{}}
	forward := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.Out.URL = r.In.URL },
		Transport: &http.Transport{Proxy: nil},
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			p.count(p.connect, r.Host)
			up, err := net.Dial("tcp", r.Host)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				up.Close()
				return
			}
			// Answer on the hijacked connection itself, then relay what
			// the client sent, the bytes the server had buffered first.
			if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
				conn.Close()
				up.Close()
				return
			}
			go func() { io.Copy(up, buf.Reader); up.Close() }()
			go func() { io.Copy(conn, up); conn.Close() }()
			return
		}
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		p.count(p.absolute, r.URL.Host)
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *forwardProxy) count(m map[string]int, host string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m[host]++
}

func (p *forwardProxy) counts() (absolute, connect map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, c := map[string]int{}, map[string]int{}
	for k, v := range p.absolute {
		a[k] = v
	}
	for k, v := range p.connect {
		c[k] = v
	}
	return a, c
}

// countingFront serves target through a reverse proxy counting the
// requests that reach it.
func countingFront(t *testing.T, target string, tls bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(u)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); rp.ServeHTTP(w, r) })
	s := httptest.NewUnstartedServer(h)
	// Keep the handshake failures of the untrusted certificate out of the output.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s, &n
}

// TestGitFetchThroughProxy: with ProxyURL, every request of every code
// path (ls-remote, a shallow fetch, a fetch by hash, fetching everything
// into a fresh or a shallow cache, no cache at all) goes through the
// proxy; an https remote is tunnelled with CONNECT.
func TestGitFetchThroughProxy(t *testing.T) {
	remotes := t.TempDir()
	bare, first := chartsRemote(t, remotes)
	next := strings.TrimSpace(gitserver.Git(t, bare, "rev-parse", "next"))
	main := strings.TrimSpace(gitserver.Git(t, bare, "rev-parse", "main"))
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	front, served := countingFront(t, srv.URL, false)
	remote := front.URL + "/charts.git"
	proxy := newForwardProxy(t)
	host := strings.TrimPrefix(front.URL, "http://")

	cached := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: t.TempDir(), ProxyURL: proxy.URL}
	for _, c := range []struct {
		f        *GoGitFetcher
		ref      string
		replicas string
	}{
		{cached, "v1", "2"},      // ls-remote, shallow fetch
		{cached, main, "7"},      // refused by hash: the shallow cache is replaced
		{cached, next[:10], "9"}, // ls-remote, then the cache
		{&GoGitFetcher{TempDir: t.TempDir(), CacheDir: t.TempDir(), ProxyURL: proxy.URL}, first[:9], "2"}, // everything, into a fresh cache
		{&GoGitFetcher{TempDir: t.TempDir(), ProxyURL: proxy.URL}, "next", "9"},                           // no cache
	} {
		if got := fetchReplicas(t, c.f, remote, c.ref); got != c.replicas {
			t.Errorf("%s: replicaCount %s, want %s", c.ref, got, c.replicas)
		}
	}
	abs, _ := proxy.counts()
	if abs[host] == 0 || int64(abs[host]) != served.Load() || len(abs) != 1 {
		t.Errorf("the proxy forwarded %v; the server answered %d requests", abs, served.Load())
	}

	// Without ProxyURL, the proxy is not used.
	before := abs[host]
	fetchReplicas(t, &GoGitFetcher{TempDir: t.TempDir()}, remote, "main")
	if abs, _ := proxy.counts(); abs[host] != before {
		t.Errorf("a fetcher without ProxyURL used the proxy")
	}

	// https: a CONNECT tunnel (the test server's certificate is not
	// trusted, so the fetch then fails; nothing reached the server).
	tlsFront, tlsServed := countingFront(t, srv.URL, true)
	tlsHost := strings.TrimPrefix(tlsFront.URL, "https://")
	err := fetchErr(t, &GoGitFetcher{TempDir: t.TempDir(), ProxyURL: proxy.URL}, tlsFront.URL+"/charts.git", "main")
	wantErr(t, err, "fetch "+tlsFront.URL+"/charts.git", "certificate")
	if _, conn := proxy.counts(); conn[tlsHost] == 0 {
		t.Errorf("no CONNECT to %s: %v", tlsHost, conn)
	}
	if n := tlsServed.Load(); n != 0 {
		t.Errorf("%d requests reached the https server", n)
	}
}

// stallingServer accepts requests and answers none until the request
// ends.
func stallingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-r.Context().Done()
	}))
	t.Cleanup(s.Close)
	return s, &n
}

// TestGitFetchTimeout: each network operation is bounded in time; a
// timeout is no reason to fetch everything; an earlier deadline of the
// caller wins.
func TestGitFetchTimeout(t *testing.T) {
	stall, requests := stallingServer(t)
	for _, ref := range []string{"main", strings.Repeat("ab", 20)} {
		requests.Store(0)
		f := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: t.TempDir(), timeout: 300 * time.Millisecond}
		start := time.Now()
		err := fetchErr(t, f, stall.URL+"/charts.git", ref)
		wantErr(t, err, "fetch "+stall.URL+"/charts.git: timed out: no complete answer within 300ms")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: failed after %v", ref, d)
		}
		if n := requests.Load(); n != 1 {
			t.Errorf("%s: %d requests, want 1 (no fallback after a timeout)", ref, n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	f := &GoGitFetcher{TempDir: t.TempDir(), timeout: time.Hour}
	start := time.Now()
	_, _, err := f.Fetch(ctx, stall.URL+"/charts.git", "main", "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the caller's deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failed after %v", d)
	}
}
