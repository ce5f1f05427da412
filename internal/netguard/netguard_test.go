package netguard

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/testenv/proxyserver"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "140.82.112.3": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "100.100.100.200": false, "0.0.0.0": false, "255.255.255.255": false,
		"::1": false, "::": false, "fe80::1": false, "fd00:ec2::254": false, "fc00::1": false,
		"::ffff:127.0.0.1": false, "::ffff:169.254.169.254": false, "64:ff9b::a9fe:a9fe": false,
		"2002:a9fe:a9fe::1": false, "224.0.0.1": false, "198.18.0.1": false, "192.0.0.170": false,
		// IPv4 translated or embedded in IPv6 (IPv4-compatible, SIIT, Teredo).
		"::a9fe:a9fe": false, "::ffff:0:a9fe:a9fe": false, "2001:0:4136:e378:8000:63bf:3fff:fdd2": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://Charts.Example.com/stable":         "charts.example.com",
		"http://127.0.0.1:8080/x":                   "127.0.0.1",
		"git@github.com:pipe-cd/manifests.git":      "github.com",
		"ssh://git@[::1]:2222/repo.git":             "::1",
		"ghcr.io":                                   "ghcr.io",
		"localhost:5000":                            "localhost",
		"oci://registry.example.com/charts":         "registry.example.com",
		"github.com/org/repo//path?ref=v1":          "github.com",
		"":                                          "",
		"https://user:secret@git.example.com/r.git": "git.example.com",
		"2606:4700::1111":                           "2606:4700::1111",
		"[2606:4700::1111]":                         "2606:4700::1111",
		"git@[2606:4700::1111]:org/r.git":           "2606:4700::1111",
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	g := New("https://charts.internal.example/", "git@10.0.0.7:org/charts.git")
	for target, blocked := range map[string]bool{
		"http://169.254.169.254/latest/meta-data/": true,
		"http://127.0.0.1:8080/values.yaml":        true,
		"http://localhost/values.yaml":             true,
		"ssh://git@[::1]/repo.git":                 true,
		"git@10.0.0.7:org/other.git":               false, // the configured GIT repository's host
		"https://charts.internal.example/x.tgz":    false, // configured: not even resolved
		"https://8.8.8.8/values.yaml":              false,
	} {
		err := g.Check(ctx, target)
		if got := errors.Is(err, ErrBlocked); got != blocked {
			t.Errorf("Check(%s) = %v, want blocked=%v", target, err, blocked)
		}
	}
	err := g.Check(ctx, "http://169.254.169.254/latest/")
	if err == nil || !strings.Contains(err.Error(), "169.254.169.254 is not a public address") || !strings.Contains(err.Error(), ".pipe/config.yaml") {
		t.Errorf("message: %v", err)
	}
}

func TestTransportRefusesInternalAddressesAtConnect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret-metadata") }))
	defer srv.Close()
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.Proxy = nil

	c := &http.Client{Transport: New().Transport(base)}
	_, err := c.Get(srv.URL)
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("GET %s through the guard: %v, want blocked", srv.URL, err)
	}
	// "localhost" resolves to loopback: refused as well, after resolution.
	u, _ := url.Parse(srv.URL)
	if _, err := c.Get("http://localhost:" + u.Port()); !errors.Is(err, ErrBlocked) {
		t.Fatalf("GET via localhost: %v, want blocked", err)
	}

	// A configured host may be anywhere.
	c = &http.Client{Transport: New(srv.URL).Transport(base)}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "secret-metadata" {
		t.Fatalf("body %q", b)
	}
}

func TestTransportThroughProxy(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "values") }))
	defer target.Close()
	proxy := proxyserver.Start(t, map[string]string{"8.8.8.8:80": target.Listener.Addr().String()}, true)
	pu, _ := url.Parse(proxy.URL)
	g := New("https://charts.internal.example")
	g.Upstream = http.ProxyURL(pu)
	c := &http.Client{Transport: g.Transport(nil)}

	// An internal target is refused before the proxy is asked to reach it.
	if _, err := c.Get("http://10.1.2.3/values.yaml"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("internal target through a proxy: %v, want blocked", err)
	}
	// The proxy itself may be internal (it is the environment's), and a
	// public target goes through it.
	resp, err := c.Get("http://8.8.8.8/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := requests(proxy); len(got) != 1 || got[0] != "CONNECT 8.8.8.8:80 " || string(b) != "values" {
		t.Fatalf("proxied %q, read %q", got, b)
	}
}
