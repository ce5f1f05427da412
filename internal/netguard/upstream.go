package netguard

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/proxy"
)

// The environment's proxy (HTTPS_PROXY, HTTP_PROXY) connects on pipe's
// behalf, resolving the target's name itself: had pipe checked the name
// and then handed it to the proxy, a name that resolves to a public
// address for pipe and to an internal one for the proxy a moment later
// (DNS rebinding) would reach the internal one. So a host that is not
// trusted reaches the proxy as the address pipe checked: a tunnel,
// CONNECT 203.0.113.7:443 (TLS is still verified for the name), for
// http as for https, since in an absolute-form request the proxy would
// take the host from the request and resolve it again.

// KnownProxies names the environment's proxies (URLs, as in HTTPS_PROXY;
// empty ones are skipped) before any request: their addresses, and what
// their names resolve to, are refused as targets from the start.
func (g *Guard) KnownProxies(ctx context.Context, proxies ...string) {
	for _, p := range proxies {
		if p == "" {
			continue
		}
		if !strings.Contains(p, "://") {
			p = "http://" + p // as net/http reads HTTP_PROXY
		}
		u, err := url.Parse(p)
		if err != nil || u.Host == "" {
			continue
		}
		g.noteUpstream(ctx, u)
	}
}

// noteUpstream records a proxy's address, and the addresses its name
// resolves to (best effort, once).
func (g *Guard) noteUpstream(ctx context.Context, u *url.URL) {
	addr := strings.ToLower(proxyAddr(u))
	if _, done := g.upstreams.LoadOrStore(addr, true); done {
		return
	}
	host, port, _ := net.SplitHostPort(addr)
	if _, err := netip.ParseAddr(host); err == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, _ := g.lookup(ctx, host)
	for _, a := range addrs {
		g.upstreams.Store(net.JoinHostPort(a.Unmap().String(), port), true)
	}
}

// upstreamFor returns the environment's proxy for a request to
// scheme://address (host:port), or nil to connect directly.
func (g *Guard) upstreamFor(scheme, address string) (*url.URL, error) {
	if g == nil || g.Upstream == nil {
		return nil, nil
	}
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: scheme, Host: address}, Header: http.Header{}, Host: address}
	return g.upstreamOf(req)
}

// upstreamOf returns the environment's proxy for req, or nil.
func (g *Guard) upstreamOf(req *http.Request) (*url.URL, error) {
	if g == nil || g.Upstream == nil {
		return nil, nil
	}
	u, err := g.Upstream(req)
	if err != nil || u == nil {
		return nil, err
	}
	g.noteUpstream(req.Context(), u)
	return u, nil
}

// isUpstream reports whether address (host:port) is a proxy the
// environment named: it is dialled as it is, and never as a target.
func (g *Guard) isUpstream(address string) bool {
	if h, p, err := net.SplitHostPort(address); err == nil {
		if a, err := netip.ParseAddr(h); err == nil {
			address = net.JoinHostPort(a.Unmap().String(), p)
		}
	}
	_, ok := g.upstreams.Load(strings.ToLower(address))
	return ok
}

// refuseUpstreamTarget refuses a request to the environment's proxy
// itself (a NO_PROXY request would reach it directly, unguarded).
func (g *Guard) refuseUpstreamTarget(host, address string) error {
	if g.isUpstream(address) && !g.Allowed(host) {
		return fmt.Errorf("%w: %s is the environment's proxy, not a host to download from", ErrBlocked, address)
	}
	return nil
}

// pinned returns the addresses (host:port) the connection to address
// may go to: the checked addresses of its host, or address itself for a
// trusted host (then the proxy resolves it).
func (g *Guard) pinned(ctx context.Context, address string) ([]string, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if g.Allowed(host) {
		return []string{address}, nil
	}
	addrs, err := g.resolveChecked(ctx, host)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range addrs {
		t := net.JoinHostPort(a.String(), port)
		if err := g.refuseUpstreamTarget(host, t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// connect opens a connection to address (host:port) for a request of
// scheme: through the environment's proxy (a tunnel to a checked
// address, each tried in turn) when one applies, else dialled through
// the guard.
func (g *Guard) connect(ctx context.Context, scheme, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if err := g.refuseUpstreamTarget(host, address); err != nil {
		return nil, err
	}
	pu, err := g.upstreamFor(scheme, address)
	if err != nil {
		return nil, fmt.Errorf("the environment's proxy for %s://%s: %w", scheme, address, err)
	}
	if pu == nil {
		return g.dial(ctx, "tcp", address)
	}
	targets, err := g.pinned(ctx, address)
	if err != nil {
		return nil, err
	}
	var first error
	for _, target := range targets {
		c, err := tunnel(ctx, pu, target)
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	var refused *proxyRefusal
	if g.Allowed(host) || !errors.As(first, &refused) {
		return nil, first
	}
	return nil, fmt.Errorf("%w (pipe asks the environment's proxy for the address it checked, never the name, so that DNS cannot send it elsewhere; "+
		"a proxy that tunnels only to port 443, or only to listed domains, refuses that: use an https:// URL, or name the host in "+
		"the chartRepositories or chartRegistries of .pipe/config.yaml, whose hosts go to the proxy by name)", first)
}

// tunnelTimeout bounds connecting to the proxy and its answer to CONNECT.
const tunnelTimeout = 30 * time.Second

// proxyName is a proxy's URL without its credentials, for messages.
func proxyName(pu *url.URL) string {
	scheme := pu.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + pu.Host
}

// tunnel asks the proxy pu for a connection to target (host:port), with
// CONNECT (http and https proxies) or SOCKS5.
func tunnel(ctx context.Context, pu *url.URL, target string) (net.Conn, error) {
	what := func(err error) error {
		return fmt.Errorf("connect to %s through the environment's proxy %s: %w", target, proxyName(pu), err)
	}
	ctx, cancel := context.WithTimeout(ctx, tunnelTimeout)
	defer cancel()
	switch pu.Scheme {
	case "socks5", "socks5h":
		var auth *proxy.Auth
		if pu.User != nil {
			pw, _ := pu.User.Password()
			auth = &proxy.Auth{User: pu.User.Username(), Password: pw}
		}
		d, err := proxy.SOCKS5("tcp", proxyAddr(pu), auth, newDialer())
		if err != nil {
			return nil, what(err)
		}
		c, err := d.(proxy.ContextDialer).DialContext(ctx, "tcp", target)
		if err != nil {
			return nil, what(err)
		}
		return c, nil
	case "http", "https", "":
	default:
		return nil, what(fmt.Errorf("proxy scheme %q is not supported (http, https and socks5 are)", pu.Scheme))
	}
	c, err := newDialer().DialContext(ctx, "tcp", proxyAddr(pu))
	if err != nil {
		return nil, what(err)
	}
	// The context ending (a timeout, ^C) cuts the exchange short.
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	fail := func(err error) (net.Conn, error) {
		stop()
		_ = c.Close()
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return nil, what(err)
	}
	if pu.Scheme == "https" {
		tc := tls.Client(c, &tls.Config{ServerName: pu.Hostname(), MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(err)
		}
		c = tc
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: http.Header{}}
	if u := pu.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(c); err != nil {
		return fail(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fail(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(&proxyRefusal{status: resp.Status})
	}
	if !stop() {
		return fail(context.Cause(ctx)) // closed as it answered
	}
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: c, r: br}, nil
	}
	return c, nil
}

// proxyRefusal is the error of a proxy that answered CONNECT with
// anything but 200.
type proxyRefusal struct{ status string }

func (e *proxyRefusal) Error() string { return "it answered " + e.status }

// bufferedConn is a connection whose first bytes were read ahead.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// resolveChecked resolves host and checks all its addresses, returning
// them.
func (g *Guard) resolveChecked(ctx context.Context, host string) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{addr.Unmap()}, g.checkAddr(host, addr)
	}
	addrs, err := g.lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if err := g.checkAddr(host, a); err != nil {
			return nil, err
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

// lookup resolves host's addresses.
func (g *Guard) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if g != nil && g.lookupHook != nil {
		return g.lookupHook(ctx, host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}
