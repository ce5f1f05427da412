package netguard

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
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
// trusted reaches the proxy as the address pipe checked: CONNECT
// 203.0.113.7:443 (TLS is still verified against the host's name), or an
// absolute-form http request to that address with the name in Host.

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
	g.upstreams.Store(proxyAddr(u), true)
	return u, nil
}

// isUpstream reports whether address (host:port) is a proxy the
// environment named: it is dialled as it is, and never as a target.
func (g *Guard) isUpstream(address string) bool {
	_, ok := g.upstreams.Load(address)
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

// pinned returns address with its host replaced by the checked address
// the connection must go to, unless the host is trusted (then the proxy
// resolves it).
func (g *Guard) pinned(ctx context.Context, address string) (string, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return "", err
	}
	if g.Allowed(host) {
		return address, nil
	}
	addr, err := g.resolveChecked(ctx, host)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(addr.String(), port), nil
}

// connect opens a connection to address (host:port) for a request of
// scheme: through the environment's proxy (a tunnel to the checked
// address) when one applies, else dialled through the guard.
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
	target, err := g.pinned(ctx, address)
	if err != nil {
		return nil, err
	}
	return tunnel(ctx, pu, target)
}

// tunnelTimeout bounds connecting to the proxy and its answer to CONNECT.
const tunnelTimeout = 30 * time.Second

// tunnel asks the proxy pu for a connection to target (host:port), with
// CONNECT (http and https proxies) or SOCKS5.
func tunnel(ctx context.Context, pu *url.URL, target string) (net.Conn, error) {
	what := func(err error) error {
		return fmt.Errorf("connect to %s through the environment's proxy %s: %w", target, pu.Redacted(), err)
	}
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
	ctx, cancel := context.WithTimeout(ctx, tunnelTimeout)
	defer cancel()
	c, err := newDialer().DialContext(ctx, "tcp", proxyAddr(pu))
	if err != nil {
		return nil, what(err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if pu.Scheme == "https" {
		tc := tls.Client(c, &tls.Config{ServerName: pu.Hostname(), MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, what(err)
		}
		c = tc
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: http.Header{}}
	if u := pu.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(c); err != nil {
		_ = c.Close()
		return nil, what(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		_ = c.Close()
		return nil, what(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_ = c.Close()
		return nil, what(fmt.Errorf("it answered %s", resp.Status))
	}
	_ = c.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: c, r: br}, nil
	}
	return c, nil
}

// bufferedConn is a connection whose first bytes were read ahead.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// resolveChecked resolves host and checks all its addresses, returning
// the one to connect to.
func (g *Guard) resolveChecked(ctx context.Context, host string) (netip.Addr, error) {
	if addr, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return addr, g.checkAddr(host, addr)
	}
	addrs, err := g.lookup(ctx, host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("resolve %s: no addresses", host)
	}
	for _, a := range addrs {
		if err := g.checkAddr(host, a); err != nil {
			return netip.Addr{}, err
		}
	}
	return addrs[0].Unmap(), nil
}

// lookup resolves host's addresses.
func (g *Guard) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if g != nil && g.lookupHook != nil {
		return g.lookupHook(ctx, host)
	}
	r := net.DefaultResolver
	if g != nil && g.Resolver != nil {
		r = g.Resolver
	}
	return r.LookupNetIP(ctx, "ip", host)
}
