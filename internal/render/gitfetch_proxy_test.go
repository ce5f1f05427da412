package render

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
	"github.com/gitops-pipe/pipe/internal/testenv/proxyserver"
)

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
	proxy := proxyserver.Start(t, nil, false)
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
	abs, _ := proxy.Counts()
	if abs[host] == 0 || int64(abs[host]) != served.Load() || len(abs) != 1 {
		t.Errorf("the proxy forwarded %v; the server answered %d requests", abs, served.Load())
	}

	// Without ProxyURL, the proxy is not used.
	before := abs[host]
	fetchReplicas(t, &GoGitFetcher{TempDir: t.TempDir()}, remote, "main")
	if abs, _ := proxy.Counts(); abs[host] != before {
		t.Errorf("a fetcher without ProxyURL used the proxy")
	}

	// https: a CONNECT tunnel (the test server's certificate is not
	// trusted, so the fetch then fails; nothing reached the server).
	tlsFront, tlsServed := countingFront(t, srv.URL, true)
	tlsHost := strings.TrimPrefix(tlsFront.URL, "https://")
	err := fetchErr(t, &GoGitFetcher{TempDir: t.TempDir(), ProxyURL: proxy.URL}, tlsFront.URL+"/charts.git", "main")
	wantErr(t, err, "fetch "+tlsFront.URL+"/charts.git", "certificate")
	if _, conn := proxy.Counts(); conn[tlsHost] == 0 {
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
