// Package netguard keeps downloads that an unreviewed change chooses
// (remote values files, chart repositories given by URL, Git remotes of
// charts and kustomize bases) away from the network the CI job sits in: a
// pull request's `pipe plan` must not be able to read a cloud metadata
// endpoint, a service on the runner or an internal host and show what it
// read in the plan it comments.
//
// A Guard refuses every address that is not a public unicast one
// (loopback, private, link-local, CGNAT, multicast, unspecified,
// documentation and benchmark ranges, and IPv6's equivalents, IPv4-mapped
// included), except for the hosts the trusted configuration names (chart
// repositories and registries of .pipe/config.yaml). It checks each address
// when the connection is made, so a name that resolves to a public address
// once and to an internal one later (DNS rebinding) is still refused.
package netguard

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Guard decides which hosts and addresses downloads may reach. The zero
// value allows public addresses only.
type Guard struct {
	// Allowed are host names (or host:port) that may resolve to any
	// address: the trusted configuration's own servers.
	allowed map[string]bool
	// Upstream is the environment's proxy for a request
	// (http.ProxyFromEnvironment), or nil for none: requests that it
	// sends to a proxy reach hosts that are not trusted as the address
	// the guard checked, never as a name the proxy would resolve again.
	// Set it (and name its proxies with KnownProxies) before the Guard is
	// used.
	Upstream func(*http.Request) (*url.URL, error)

	// upstreams are the addresses (host:port, lower-case; and the
	// addresses they resolve to) of the environment's proxies: dialled as
	// they are, refused as targets.
	upstreams sync.Map
	// lookupHook, when set, resolves names instead of Resolver (tests).
	lookupHook func(ctx context.Context, host string) ([]netip.Addr, error)
}

// New returns a Guard allowing the hosts of allowed (URLs, host names or
// host:port; scp-like Git remotes such as git@host:org/repo too) to
// resolve anywhere.
func New(allowed ...string) *Guard {
	g := &Guard{allowed: map[string]bool{}}
	for _, a := range allowed {
		if h := Host(a); h != "" {
			g.allowed[h] = true
		}
	}
	return g
}

// ErrBlocked is wrapped by the errors of refused addresses.
var ErrBlocked = errors.New("refused")

// Host returns the lower-case host name of a URL, an scp-like Git remote
// (user@host:path), a host:port or a bare host; "" when there is none.
func Host(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		return strings.ToLower(u.Hostname())
	}
	if at := strings.Index(s, "@"); at >= 0 {
		s = s[at+1:]
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return strings.ToLower(strings.Trim(h, "[]"))
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.String() // an IPv6 address has colons of its own
	}
	if i := strings.IndexAny(s, ":/"); i >= 0 {
		s = s[:i]
	}
	return strings.ToLower(strings.Trim(s, "[]"))
}

// Allowed reports whether host is one of the trusted hosts.
func (g *Guard) Allowed(host string) bool {
	return g != nil && g.allowed[strings.ToLower(strings.Trim(host, "[]"))]
}

// Public reports whether addr is a public unicast address.
func Public(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// nonPublic are the special-purpose ranges (RFC 6890 and successors) that
// netip's predicates leave out.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // carrier-grade NAT (some clouds' metadata and internal services)
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, broadcast
		"64:ff9b::/96",    // NAT64: would reach any IPv4 address, the private ones too
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4: embeds any IPv4 address
		"fec0::/10",       // deprecated site-local
		"::/96",           // IPv4-compatible (deprecated): embeds any IPv4 address
		"::ffff:0:0:0/96", // SIIT's IPv4-translated addresses
		"2001::/32",       // Teredo: embeds any IPv4 address
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// checkAddr refuses addr for host unless it is public or host is trusted.
func (g *Guard) checkAddr(host string, addr netip.Addr) error {
	if g.Allowed(host) || Public(addr) {
		return nil
	}
	what := host
	if what == "" || what == addr.String() {
		what = addr.String()
	} else {
		what = fmt.Sprintf("%s (%s)", host, addr)
	}
	return fmt.Errorf("%w: %s is not a public address; an unreviewed change may only download from public hosts "+
		"or from the chart repositories and registries of .pipe/config.yaml", ErrBlocked, what)
}

// Check resolves the host of target (a URL, an scp-like Git remote or a
// host) and refuses it when any of its addresses is not allowed.
func (g *Guard) Check(ctx context.Context, target string) error {
	host := Host(target)
	if host == "" {
		return fmt.Errorf("%w: %q names no host", ErrBlocked, target)
	}
	if g.Allowed(host) {
		return nil
	}
	_, err := g.resolveChecked(ctx, host)
	return err
}

// newDialer is the dialer every connection starts from.
func newDialer() *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
}

// dialer returns a dialer whose every connection is checked at connect
// time, after name resolution: the address actually dialled is the one
// judged.
func (g *Guard) dialer() *net.Dialer {
	d := newDialer()
	d.Control = func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		addr, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrBlocked, address)
		}
		if err := g.refuseUpstreamTarget("", address); err != nil {
			return err
		}
		return g.checkAddr("", addr)
	}
	return d
}

// dial connects to address (host:port): as it is for a trusted host,
// through the guarded dialer for any other.
func (g *Guard) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if g.Allowed(host) {
		return newDialer().DialContext(ctx, network, address)
	}
	return g.dialer().DialContext(ctx, network, address)
}

// Transport returns the round tripper of downloads that base (nil:
// http.DefaultTransport) would make, guarded. A trusted host is reached
// as base would reach it: through the environment's proxy by name
// (Upstream; when nil, base's Proxy becomes the Guard's Upstream), or
// directly. Any other host is reached through a connection the guard
// makes itself (connect): dialled directly, each address checked when it
// is dialled, or tunnelled through the environment's proxy to the
// address the guard checked, so that a proxy resolving the name again
// cannot reach an internal one; TLS is verified for the name either way.
// Its errors are the guard's own, as the requests' errors.
func (g *Guard) Transport(base *http.Transport) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	if g.Upstream == nil {
		g.Upstream = base.Proxy
	}
	byName := base.Clone()
	byName.Proxy = g.upstreamOf // used for trusted hosts only
	byName.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
		if g.isUpstream(address) {
			return newDialer().DialContext(ctx, network, address)
		}
		return g.dial(ctx, network, address)
	}
	t := &transport{g: g, byName: byName, pinned: map[string]*http.Transport{}}
	for _, scheme := range []string{"http", "https"} {
		p := base.Clone()
		p.Proxy = nil
		p.DialContext = func(ctx context.Context, _, address string) (net.Conn, error) {
			return g.connect(ctx, scheme, address)
		}
		t.pinned[scheme] = p
	}
	return t
}

// transport is the round tripper of Transport.
type transport struct {
	g      *Guard
	byName *http.Transport
	pinned map[string]*http.Transport // by scheme
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.g.Allowed(req.URL.Hostname()) {
		return t.byName.RoundTrip(req)
	}
	p := t.pinned[req.URL.Scheme]
	if p == nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s: an unreviewed change may only download over http or https", ErrBlocked, req.URL.Redacted())
	}
	return p.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of every transport.
func (t *transport) CloseIdleConnections() {
	t.byName.CloseIdleConnections()
	for _, p := range t.pinned {
		p.CloseIdleConnections()
	}
}

// WithInsecureTLS returns a copy of t that does not verify servers'
// certificates: the client of a chart repository configured `insecure:
// true` (internal/render).
func (t *transport) WithInsecureTLS() http.RoundTripper {
	insecure := func(p *http.Transport) *http.Transport {
		c := p.Clone()
		if c.TLSClientConfig == nil {
			c.TLSClientConfig = &tls.Config{}
		}
		c.TLSClientConfig.InsecureSkipVerify = true // the configuration says so, for a host it names
		return c
	}
	out := &transport{g: t.g, byName: insecure(t.byName), pinned: map[string]*http.Transport{}}
	for k, p := range t.pinned {
		out.pinned[k] = insecure(p)
	}
	return out
}

// proxyAddr is the host:port a proxy URL is dialled at.
func proxyAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "socks5", "socks5h":
			port = "1080"
		default:
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
