package netguard

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is an HTTP proxy on 127.0.0.1 that reaches only what its Guard
// allows, for clients whose connections pipe cannot dial itself (go-git's
// HTTP transport takes a proxy URL, not a dialer). It tunnels CONNECT
// (https) and forwards absolute-form requests (http), dialling every
// target through the Guard at connect time; redirects are not followed
// (the client's next request comes through the proxy again). What all its
// connections read from upstream is bounded by a budget: past it, every
// connection is cut and Exceeded reports it. Only its own client may use
// it: its URL holds credentials made for the run (another user of a
// shared runner could otherwise reach out through it, with the
// environment's proxy credentials).
type Proxy struct {
	guard  *Guard
	ln     net.Listener
	srv    *http.Server
	budget int64
	read   atomic.Int64
	// user and pass are the credentials clients must give.
	user, pass string
	// forward is the transport of absolute-form (http) requests.
	forward *http.Transport
	// refusal is the last connection the guard refused, for the
	// client's error (go-git reports a proxy's status code only).
	refusal atomic.Pointer[error]

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// StartProxy starts a proxy for g, allowing budget bytes (> 0) read from
// upstream over its life. Close stops it.
func (g *Guard) StartProxy(budget int64) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the download proxy: %w", err)
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("start the download proxy: %w", err)
	}
	p := &Proxy{guard: g, ln: ln, budget: budget, conns: map[net.Conn]struct{}{}, user: "pipe", pass: hex.EncodeToString(secret)}
	p.forward = http.DefaultTransport.(*http.Transport).Clone()
	p.forward.Proxy = nil // the proxy dials itself: an environment proxy would reach past the guard
	// An http request reaches its host directly through the guard, or
	// through a tunnel of the environment's proxy to the address the
	// guard checked: in absolute form, the proxy would take the host
	// name from the request and resolve it again.
	p.forward.DialContext = func(ctx context.Context, _, address string) (net.Conn, error) {
		return p.connect(ctx, "http", address)
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the proxy's address with its credentials, for a client's proxy
// setting.
func (p *Proxy) URL() string {
	return (&url.URL{Scheme: "http", User: url.UserPassword(p.user, p.pass), Host: p.ln.Addr().String()}).String()
}

// Refused returns, and forgets, the error of the last connection the
// guard refused: what a client that reports only the proxy's status code
// (go-git) left out.
func (p *Proxy) Refused() error {
	if e := p.refusal.Swap(nil); e != nil {
		return *e
	}
	return nil
}

// refuse records err as the last refusal.
func (p *Proxy) refuse(err error) {
	p.refusal.Store(&err)
}

// authorized reports whether r carries the proxy's credentials.
func (p *Proxy) authorized(r *http.Request) bool {
	got := r.Header.Get("Proxy-Authorization")
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pass))
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// Exceeded reports whether the budget was used up (connections were cut).
func (p *Proxy) Exceeded() bool { return p.read.Load() > p.budget }

// Close stops the proxy and cuts its connections.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	p.mu.Lock()
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	// Outside the lock: closing a connection forgets it, under the lock.
	for _, c := range conns {
		_ = c.Close()
	}
	return err
}

func (p *Proxy) exceeded() error {
	return fmt.Errorf("%w: the downloads of this run read more than %d bytes", ErrBlocked, p.budget)
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="pipe"`)
		http.Error(w, "pipe's download proxy serves its own run only", http.StatusProxyAuthRequired)
		return
	}
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "pipe's download proxy forwards absolute URLs only", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Connection")
	out.Header.Del("Proxy-Authorization")
	resp, err := p.forward.RoundTrip(out)
	if err != nil {
		p.refuse(err)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// tunnel answers CONNECT: the target is dialled through the guard, then
// bytes are copied both ways.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	// Clients tunnel https (go-git, Go's transport): the environment's
	// https proxy applies.
	up, err := p.connect(r.Context(), "https", r.Host)
	client, buf, herr := http.NewResponseController(w).Hijack()
	if herr != nil {
		if up != nil {
			_ = up.Close()
		}
		http.Error(w, "hijacking not supported", http.StatusInternalServerError)
		return
	}
	if err != nil {
		// The reason goes in the status line: Go's client (go-git's)
		// makes its error of that text.
		p.refuse(err)
		reason := strings.Join(strings.Fields(err.Error()), " ")
		if len(reason) > 2000 {
			reason = reason[:2000]
		}
		_, _ = io.WriteString(client, "HTTP/1.1 403 "+reason+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		_ = client.Close()
		return
	}
	// The answer goes on the hijacked connection itself: nothing the
	// server buffered can be lost or reordered.
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		_ = client.Close()
		_ = up.Close()
		return
	}
	p.mu.Lock()
	p.conns[client] = struct{}{}
	p.mu.Unlock()
	go func() {
		defer p.forget(client)
		defer up.Close()
		// What the client sent after CONNECT and the proxy buffered.
		if n := buf.Reader.Buffered(); n > 0 {
			b, _ := buf.Reader.Peek(n)
			if _, err := up.Write(b); err != nil {
				return
			}
		}
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(up, client)
			if tc, ok := up.(*meteredConn); ok {
				if cw, ok := tc.Conn.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
				}
			}
			close(done)
		}()
		_, _ = io.Copy(client, up)
		_ = client.Close()
		<-done
	}()
}

// connect opens a connection to address for a request of scheme through
// the guard (Guard.connect), within the budget: what it reads is counted.
func (p *Proxy) connect(ctx context.Context, scheme, address string) (net.Conn, error) {
	if p.Exceeded() {
		return nil, p.exceeded()
	}
	c, err := p.guard.connect(ctx, scheme, address)
	if err != nil {
		return nil, err
	}
	if p.Exceeded() { // spent by another connection meanwhile
		_ = c.Close()
		return nil, p.exceeded()
	}
	mc := &meteredConn{Conn: c, p: p}
	p.mu.Lock()
	p.conns[mc] = struct{}{}
	p.mu.Unlock()
	return mc, nil
}

func (p *Proxy) forget(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// meteredConn counts what is read from upstream against the budget.
type meteredConn struct {
	net.Conn
	p *Proxy
}

var errCut = errors.New("download budget exceeded")

func (c *meteredConn) Read(b []byte) (int, error) {
	if c.p.Exceeded() {
		return 0, errCut
	}
	n, err := c.Conn.Read(b)
	if c.p.read.Add(int64(n)) > c.p.budget {
		_ = c.Conn.Close()
		return n, errCut
	}
	return n, err
}

func (c *meteredConn) Close() error {
	c.p.mu.Lock()
	delete(c.p.conns, c)
	c.p.mu.Unlock()
	return c.Conn.Close()
}
