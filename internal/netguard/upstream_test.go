package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/testenv/proxyserver"
)

// requests are the proxy's requests as "METHOD target auth".
func requests(p *proxyserver.Server) []string {
	var out []string
	for _, r := range p.Requests() {
		out = append(out, r.Method+" "+r.Target+" "+r.Auth)
	}
	return out
}

// rebindingSetup is a public server and an internal one (the metadata
// endpoint), both for the name example.com (the test certificate's), and
// a proxy that resolves example.com to the internal one: what a DNS
// rebinding attack makes of the proxy's own lookup, after pipe's lookup
// said 93.184.216.34.
func rebindingSetup(t *testing.T) (g *Guard, up *proxyserver.Server, public *httptest.Server) {
	t.Helper()
	public = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "public chart for %s", r.Host)
	}))
	t.Cleanup(public.Close)
	metadata := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "metadata secret")
	}))
	t.Cleanup(metadata.Close)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "plain %s for %s", r.URL, r.Host)
	}))
	t.Cleanup(plain.Close)
	up = proxyserver.Start(t, map[string]string{
		"93.184.216.34:443":           public.Listener.Addr().String(),
		"example.com:443":             metadata.Listener.Addr().String(), // the proxy's resolver, rebound
		"charts.internal.example:443": public.Listener.Addr().String(),
		"93.184.216.34:8080":          plain.Listener.Addr().String(),
		"example.com:8080":            metadata.Listener.Addr().String(),
	}, true)
	pu, _ := url.Parse(up.URL)
	pu.User = url.UserPassword("runner", "proxy-pass")
	g = New("https://charts.internal.example")
	g.Upstream = http.ProxyURL(pu)
	g.lookupHook = func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "example.com":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
		case "rebind.example":
			return []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("169.254.169.254")}, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	return g, up, public
}

func TestTransportPinsTheCheckedAddressThroughTheEnvironmentsProxy(t *testing.T) {
	g, up, public := rebindingSetup(t)
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = public.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	c := &http.Client{Transport: g.Transport(base)}

	get := func(u string) (string, error) {
		resp, err := c.Get(u)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	// https: the proxy is asked for the address pipe checked, and the
	// certificate is still verified for the name.
	body, err := get("https://example.com/index.yaml")
	if err != nil || body != "public chart for example.com" {
		t.Fatalf("https through the proxy: %q, %v (want the public server, not the one the proxy's resolver names)", body, err)
	}
	if got := requests(up); len(got) != 1 || got[0] != "CONNECT 93.184.216.34:443 Basic "+basic("runner", "proxy-pass") {
		t.Fatalf("the proxy was asked %q, want CONNECT 93.184.216.34:443 with the proxy's credentials", got)
	}
	// http: tunnelled too (in absolute form, the proxy would take the
	// name from the request and resolve it), the name in Host.
	body, err = get("http://example.com:8080/values.yaml")
	if err != nil || body != "plain /values.yaml for example.com:8080" {
		t.Fatalf("http through the proxy: %q, %v", body, err)
	}
	if got := requests(up); len(got) != 2 || !strings.HasPrefix(got[1], "CONNECT 93.184.216.34:8080 ") {
		t.Fatalf("the proxy was asked %q, want CONNECT 93.184.216.34:8080", got)
	}
	// A name with an internal address is refused before the proxy hears
	// of it.
	n := len(requests(up))
	for _, u := range []string{"https://rebind.example/x", "http://rebind.example/x", "https://169.254.169.254/latest/meta-data/"} {
		if _, err := get(u); !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "169.254.169.254") {
			t.Errorf("GET %s: %v, want refused naming 169.254.169.254", u, err)
		}
	}
	if got := requests(up); len(got) != n {
		t.Errorf("the proxy was asked %q for refused hosts", got[n:])
	}
	// A trusted host is left to the proxy, by name.
	if body, err := get("https://charts.internal.example/index.yaml"); err == nil {
		t.Fatalf("trusted host answered %q although the test certificate does not name it", body)
	} else if got := requests(up); got[len(got)-1] != "CONNECT charts.internal.example:443 Basic "+basic("runner", "proxy-pass") {
		t.Fatalf("trusted host: the proxy was asked %q, want the name", got[len(got)-1])
	}
	// The proxy itself is not a target.
	if _, err := get(up.URL + "/"); !errors.Is(err, ErrBlocked) {
		t.Errorf("GET the proxy itself: %v, want refused", err)
	}
	// No secret in messages: the proxy's password never appears.
	_, err = get("https://rebind.example/x")
	if strings.Contains(fmt.Sprint(err), "proxy-pass") {
		t.Errorf("message shows the proxy password: %v", err)
	}
}

func TestProxyPinsTheCheckedAddressThroughTheEnvironmentsProxy(t *testing.T) {
	g, up, public := rebindingSetup(t)
	p, err := g.StartProxy(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := proxyClient(t, p, public) // go-git's way: the guard's proxy URL
	resp, err := c.Get("https://example.com/repo.git/info/refs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "public chart for example.com" {
		t.Fatalf("got %q, want the public server", b)
	}
	if got := requests(up); len(got) != 1 || !strings.HasPrefix(got[0], "CONNECT 93.184.216.34:443 ") {
		t.Fatalf("the environment's proxy was asked %q, want CONNECT 93.184.216.34:443", got)
	}
	if resp, err := c.Get("https://rebind.example/repo.git/info/refs"); err == nil {
		resp.Body.Close()
		t.Fatalf("rebind.example went through: %s", resp.Status)
	}
	if got := requests(up); len(got) != 1 {
		t.Fatalf("the proxy was asked %q for a refused host", got[1:])
	}
}

func TestTunnelFailuresNameTheProxyWithoutItsPassword(t *testing.T) {
	up := proxyserver.Start(t, nil, true) // routes nothing: 403
	pu, _ := url.Parse(up.URL)
	pu.User = url.UserPassword("runner", "proxy-pass")
	_, err := tunnel(context.Background(), pu, "93.184.216.34:443")
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), pu.Host) || strings.Contains(err.Error(), "proxy-pass") {
		t.Fatalf("tunnel through a refusing proxy: %v", err)
	}
	pu.Scheme = "ftp"
	if _, err := tunnel(context.Background(), pu, "93.184.216.34:443"); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("ftp proxy: %v", err)
	}
}

func basic(user, pass string) string {
	r := &http.Request{Header: http.Header{}}
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

func TestTheEnvironmentsProxyIsNeverATarget(t *testing.T) {
	g := New()
	g.lookupHook = func(_ context.Context, host string) ([]netip.Addr, error) {
		if host == "proxy.corp" {
			return []netip.Addr{netip.MustParseAddr("8.8.4.4")}, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	// Named before any request: by address, and by a name and what it
	// resolves to.
	g.KnownProxies(context.Background(), "http://8.8.8.8:3128", "Proxy.Corp:8080", "")
	c := &http.Client{Transport: g.Transport(nil)}
	for _, u := range []string{"http://8.8.8.8:3128/", "http://PROXY.corp:8080/", "http://8.8.4.4:8080/", "https://[::ffff:8.8.8.8]:3128/"} {
		_, err := c.Get(u)
		if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), "is the environment's proxy") {
			t.Errorf("GET %s: %v, want refused as the environment's proxy", u, err)
		}
	}
	// An IPv6 address is checked as itself, never looked up.
	if err := g.Check(context.Background(), "https://[2606:4700:4700::1111]/x"); err != nil {
		t.Errorf("a public IPv6 address: %v", err)
	}
	if err := g.Check(context.Background(), "fd00:ec2::254"); !errors.Is(err, ErrBlocked) {
		t.Errorf("an internal IPv6 address: %v", err)
	}
}

func TestARefusingProxyIsExplained(t *testing.T) {
	g, up, _ := rebindingSetup(t) // routes 93.184.216.34:443 and :8080 only
	c := &http.Client{Transport: g.Transport(nil)}
	_, err := c.Get("http://example.com/values.yaml") // port 80: not routed
	for _, want := range []string{"connect to 93.184.216.34:80 through the environment's proxy " + up.URL, "it answered 403 Forbidden", "only to port 443", "name the host in the chartRepositories"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
	if strings.Contains(fmt.Sprint(err), "proxy-pass") || strings.Contains(fmt.Sprint(err), "runner") {
		t.Errorf("the error shows the proxy's credentials: %v", err)
	}
}

func TestProxyServesItsOwnRunOnlyAndTellsWhy(t *testing.T) {
	g, _, public := rebindingSetup(t)
	p, err := g.StartProxy(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Without its credentials: 407.
	pu, _ := url.Parse(p.URL())
	pu.User = nil
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(pu)
	if _, err := (&http.Client{Transport: tr}).Get("https://example.com/"); err == nil || !strings.Contains(err.Error(), "Proxy Authentication Required") {
		t.Fatalf("CONNECT without the proxy's credentials: %v", err)
	}
	resp, err := (&http.Client{Transport: tr}).Get("http://example.com:8080/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("GET without the proxy's credentials: %s", resp.Status)
	}
	// A refusal's reason reaches the client (in CONNECT's status line,
	// which Go's client, go-git's, makes its error of), and Refused
	// keeps it for clients that tell the status code only.
	c := proxyClient(t, p, public)
	_, err = c.Get("https://rebind.example/repo.git/info/refs")
	if err == nil || !strings.Contains(err.Error(), "rebind.example (169.254.169.254) is not a public address") {
		t.Fatalf("refused CONNECT: %v, want the guard's reason", err)
	}
	if why := p.Refused(); why == nil || !errors.Is(why, ErrBlocked) {
		t.Fatalf("Refused() = %v", why)
	}
	if why := p.Refused(); why != nil {
		t.Fatalf("Refused() again = %v, want it forgotten", why)
	}
}

func TestInsecureCopyOfTheGuardedTransport(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "index") }))
	defer srv.Close()
	rt := New(srv.URL).Transport(nil) // a configured (trusted) host, with a certificate nobody signed
	if _, err := (&http.Client{Transport: rt}).Get(srv.URL); err == nil {
		t.Fatal("an unknown certificate was accepted")
	}
	insecure := rt.(interface{ WithInsecureTLS() http.RoundTripper }).WithInsecureTLS()
	resp, err := (&http.Client{Transport: insecure}).Get(srv.URL)
	if err != nil {
		t.Fatalf("`insecure: true`: %v", err)
	}
	resp.Body.Close()
	// Still guarded: an internal host that is not configured is refused.
	if _, err := (&http.Client{Transport: insecure}).Get("https://169.254.169.254/"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("the insecure copy reached an internal host: %v", err)
	}
}
