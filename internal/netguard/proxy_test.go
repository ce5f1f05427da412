package netguard

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/proxyserver"
)

// client returns an HTTP client that goes through the proxy, trusting
// the test servers' certificate.
func proxyClient(t *testing.T, p *Proxy, tlsSrv *httptest.Server) *http.Client {
	t.Helper()
	pu, _ := url.Parse(p.URL())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(pu)
	if tlsSrv != nil {
		tr.TLSClientConfig = tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestProxyRefusesInternalTargets(t *testing.T) {
	internal := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "internal secret") }))
	defer internal.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain secret") }))
	defer plain.Close()

	p, err := New().StartProxy(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := proxyClient(t, p, internal)
	// https: CONNECT to a loopback address is refused.
	if resp, err := c.Get(internal.URL); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("CONNECT to %s went through: %s %q", internal.URL, resp.Status, b)
	}
	// http: the forwarded request is refused too.
	resp, err := c.Get(plain.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "127.0.0.1 is not a public address") {
		t.Fatalf("forwarded GET: %s %q", resp.Status, b)
	}
}

func TestProxyReachesTrustedHostsAndKeepsRedirects(t *testing.T) {
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
			return
		}
		io.WriteString(w, "chart index")
	}))
	defer target.Close()
	p, err := New(target.URL).StartProxy(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := proxyClient(t, p, target)
	resp, err := c.Get(target.URL + "/index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "chart index" {
		t.Fatalf("through the proxy: %q", b)
	}
	// A redirect is the client's to follow: the proxy hands it back, and
	// the next request (to the metadata address) comes through it again.
	resp, err = c.Get(target.URL + "/moved")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect: %s", resp.Status)
	}
	resp, err = c.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("redirect target: %v, want the proxy's 502", err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "169.254.169.254 is not a public address") {
		t.Fatalf("redirect target: %s %q", resp.Status, b)
	}
}

func TestProxyBudget(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 64<<10)
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(big) }))
	defer target.Close()
	p, err := New(target.URL).StartProxy(16 << 10)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := proxyClient(t, p, target)
	resp, err := c.Get(target.URL)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil || !p.Exceeded() {
		t.Fatalf("64 KiB through a 16 KiB budget: err %v, exceeded %v", err, p.Exceeded())
	}
	// Later connections are refused at once.
	if _, err := c.Get(target.URL); err == nil {
		t.Fatal("a request after the budget went through")
	}
}

func TestTransportRefusesTheProxyAsATarget(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "index") }))
	defer target.Close()
	proxy := proxyserver.Start(t, map[string]string{"8.8.8.8:80": target.Listener.Addr().String()}, true)
	pu, _ := url.Parse(proxy.URL)
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.Proxy = func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == "127.0.0.1" { // NO_PROXY=127.0.0.1
			return nil, nil
		}
		return pu, nil
	}
	g := New()
	c := &http.Client{Transport: g.Transport(base)} // base's Proxy becomes the guard's Upstream
	resp, err := c.Get("http://8.8.8.8/index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The proxy's own address, asked for directly: refused.
	if _, err := c.Get(proxy.URL + "/admin"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("the proxy as a target: %v", err)
	}
	if got := requests(proxy); len(got) != 1 {
		t.Fatalf("proxy saw %q, want 1 request", got)
	}
}

func TestProxyCloseWithOpenConnections(t *testing.T) {
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer target.Close()
	p, err := New(target.URL).StartProxy(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	c := proxyClient(t, p, target)
	resp, err := c.Get(target.URL) // keeps its tunnel open (keep-alive)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs with a tunnel open")
	}
}
