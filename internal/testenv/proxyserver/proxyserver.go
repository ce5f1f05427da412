// Package proxyserver is the HTTP proxy of a CI runner's environment
// (HTTPS_PROXY, HTTP_PROXY) for tests: it tunnels CONNECT and forwards
// absolute-form requests, the way Squid and the proxies of corporate
// networks do, and records what it was asked. Its routes are its own view
// of the network (its resolver): where a target is really reached.
package proxyserver

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Request is what the proxy was asked.
type Request struct {
	// Method is CONNECT or the forwarded request's method.
	Method string
	// Target is host:port for CONNECT, the absolute URL otherwise.
	Target string
	// Auth is the Proxy-Authorization header.
	Auth string
}

// Server is a running proxy.
type Server struct {
	*httptest.Server
	routes map[string]string
	only   bool

	mu   sync.Mutex
	reqs []Request
}

// Start starts a proxy until the test ends. routes maps targets (host:port)
// to the addresses the proxy connects to for them; a target not in routes
// is dialled as it is, or, with only, refused (403 Forbidden).
func Start(t testing.TB, routes map[string]string, only bool) *Server {
	t.Helper()
	s := &Server{routes: routes, only: only}
	forward := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.Out.URL = r.In.URL; r.Out.Host = r.In.Host },
		Transport: &http.Transport{Proxy: nil, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dest, _ := s.route(addr)
			return (&net.Dialer{}).DialContext(ctx, network, dest)
		}},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Host
		if r.Method != http.MethodConnect {
			target = r.URL.String()
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, Request{Method: r.Method, Target: target, Auth: r.Header.Get("Proxy-Authorization")})
		s.mu.Unlock()
		if r.Method != http.MethodConnect {
			if !r.URL.IsAbs() {
				http.Error(w, "not a proxy request", http.StatusBadRequest)
				return
			}
			if _, ok := s.route(canonical(r.URL.Scheme, r.URL.Host)); !ok {
				http.Error(w, "refused", http.StatusForbidden)
				return
			}
			forward.ServeHTTP(w, r)
			return
		}
		dest, ok := s.route(r.Host)
		if !ok {
			http.Error(w, "refused", http.StatusForbidden)
			return
		}
		up, err := net.Dial("tcp", dest)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		// Answer on the hijacked connection itself, then relay what the
		// client sent, the bytes the server had buffered first.
		if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			conn.Close()
			up.Close()
			return
		}
		go func() { io.Copy(up, buf.Reader); up.Close() }()
		go func() { io.Copy(conn, up); conn.Close() }()
	}))
	t.Cleanup(s.Close)
	return s
}

// route is where the proxy connects for target, and whether it may.
func (s *Server) route(target string) (string, bool) {
	if dest, ok := s.routes[target]; ok {
		return dest, true
	}
	return target, !s.only
}

// canonical is the host:port of an absolute URL's host.
func canonical(scheme, host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if scheme == "https" {
		return net.JoinHostPort(host, "443")
	}
	return net.JoinHostPort(host, "80")
}

// Requests returns what the proxy was asked, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Counts returns how many requests the proxy forwarded, by the URL's
// host (host[:port] as in the URL), and how many CONNECT tunnels it was
// asked for, by host:port.
func (s *Server) Counts() (absolute, connect map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	absolute, connect = map[string]int{}, map[string]int{}
	for _, r := range s.reqs {
		if r.Method == http.MethodConnect {
			connect[r.Target]++
		} else if u, err := url.Parse(r.Target); err == nil {
			absolute[u.Host]++
		}
	}
	return absolute, connect
}
