package render

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ChartRegistry is an OCI registry holding Helm charts, with the
// credentials pipe logs in with (see ChartRegistriesFromConfig, which
// makes them).
type ChartRegistry struct {
	// Address is the registry host (and port), e.g. ghcr.io.
	Address  string
	Username string

	// registry is Address as the registry client names it (RegistryStr).
	registry string
	// password is read from passwordEnv or passwordFile when a chart of
	// the registry is first downloaded.
	password *secret
	// field is the config entry, for messages ("chartRegistries[0]").
	field string
}

// ChartRegistriesFromConfig returns the OCI chart registries of
// .pipe/config.yaml. Like ChartReposFromConfig, a password (passwordEnv
// through getenv, or passwordFile) is read only when a chart of the
// registry is downloaded.
func ChartRegistriesFromConfig(regs []config.ChartRegistry, getenv func(string) string) ([]ChartRegistry, error) {
	var out []ChartRegistry
	for i, c := range regs {
		field := fmt.Sprintf("chartRegistries[%d]", i)
		addr := registryHost(c.Address)
		reg, err := name.NewRegistry(addr, name.StrictValidation)
		if err != nil || addr == "" {
			return nil, fmt.Errorf("%s.address %q in %s is not a registry host (e.g. ghcr.io, or registry.example.com:5000)", field, c.Address, config.RepoConfigFile)
		}
		out = append(out, ChartRegistry{
			Address: addr, Username: c.Username, field: field, registry: reg.RegistryStr(),
			password: newSecret("chart registry "+addr, field, c.PasswordEnv, c.PasswordFile, getenv),
		})
	}
	return out, nil
}

// registryHost is an address as `helm registry login` takes it (a host,
// perhaps written oci://host or https://host/) reduced to the host.
func registryHost(addr string) string {
	for _, p := range []string{"oci://", "https://"} {
		addr = strings.TrimPrefix(addr, p)
	}
	return strings.TrimSuffix(strings.TrimSpace(addr), "/")
}

// registryAuth is how pipe authenticates to one registry, and where that
// came from, for messages (never the secret).
type registryAuth struct {
	auth   authn.Authenticator
	source string
	// untrusted: only chartRegistries credentials may be used (a pull
	// request's plan).
	untrusted bool
}

// dockerConfigFile names the Docker credential file for messages: the
// one go-containerregistry reads ($DOCKER_CONFIG/config.json, else
// ~/.docker/config.json).
func dockerConfigFile() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	return "~/.docker/config.json"
}

// registryAuth finds the credentials of a registry: the chartRegistries
// entry of its host, else the Docker credential file's (docker login,
// helm registry login; never when Untrusted), else none.
func (r *Renderer) registryAuth(reg name.Registry) (registryAuth, error) {
	a, err := r.findRegistryAuth(reg)
	a.untrusted = r.Untrusted
	return a, err
}

func (r *Renderer) findRegistryAuth(reg name.Registry) (registryAuth, error) {
	for i := range r.ChartRegistries {
		cr := &r.ChartRegistries[i]
		if cr.registry != reg.RegistryStr() {
			continue
		}
		pass, err := cr.password.get()
		if err != nil {
			return registryAuth{}, err
		}
		if cr.Username == "" && pass == "" {
			return registryAuth{auth: authn.Anonymous, source: "no credentials (" + cr.field + " in " + config.RepoConfigFile + " gives none)"}, nil
		}
		src := "the credentials of " + cr.field + " in " + config.RepoConfigFile
		if cr.Username != "" {
			src += " (username " + cr.Username + ")"
		}
		return registryAuth{auth: authn.FromConfig(authn.AuthConfig{Username: cr.Username, Password: pass}), source: src}, nil
	}
	if r.Untrusted {
		return registryAuth{auth: authn.Anonymous, source: "no credentials (" + reg.RegistryStr() + " is not in chartRegistries of " + config.RepoConfigFile +
			", and a pull request's plan uses no other credentials)"}, nil
	}
	a, err := authn.DefaultKeychain.Resolve(reg)
	if err != nil {
		return registryAuth{}, fmt.Errorf("reading the credentials of %s from the Docker credential file %s: %w", reg.RegistryStr(), dockerConfigFile(), redact.Error(err))
	}
	if a == authn.Anonymous {
		return registryAuth{auth: a, source: "no credentials (" + reg.RegistryStr() + " is in neither chartRegistries of " + config.RepoConfigFile + " nor the Docker credential file " + dockerConfigFile() + ")"}, nil
	}
	return registryAuth{auth: a, source: "the credentials of the Docker credential file " + dockerConfigFile()}, nil
}

// registryTransport is the round tripper of registry requests, over the
// injected client's transport (the CLI's guards). It refuses plain http
// except to this machine: the registry client falls back to http for
// private addresses, and would send credentials (or fetch a chart an
// attacker on the path could swap) in clear. It bounds what a response
// may hold (a registry is named by the application, which a pull request
// controls) and applies the client's Timeout to each request.
type registryTransport struct {
	base    http.RoundTripper
	timeout time.Duration
}

// maxRegistryMetadata bounds a registry response that is not a blob
// (manifests, tag lists, errors); blobs are bounded by maxDownload.
const maxRegistryMetadata = 16 << 20

func (t registryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !redact.Loopback(req.URL.Hostname()) {
		return nil, fmt.Errorf("refusing plain %s to %s: chart registries are reached over https (plain http only on this machine: localhost, 127.0.0.1, ::1)", req.URL.Scheme, req.URL.Host)
	}
	cancel := context.CancelFunc(func() {})
	if t.timeout > 0 {
		var ctx context.Context
		ctx, cancel = context.WithTimeout(req.Context(), t.timeout)
		req = req.WithContext(ctx)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		cancel()
		return nil, err
	}
	limit := int64(maxDownload)
	if strings.HasPrefix(req.URL.Path, "/v2/") && !strings.Contains(req.URL.Path, "/blobs/") {
		limit = maxRegistryMetadata
	}
	resp.Body = &boundedBody{rc: resp.Body, left: limit, limit: limit, url: req.URL.Redacted(), cancel: cancel}
	return resp, nil
}

// boundedBody fails a response body past its limit, and releases the
// request's timeout when closed.
type boundedBody struct {
	rc     io.ReadCloser
	left   int64
	limit  int64
	url    string
	cancel context.CancelFunc
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("the response of %s is larger than the %s pipe reads from a registry", redactURL(b.url), fsafe.Bytes(b.limit))
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left <= 0 && err == nil {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if m, _ := b.rc.Read(one[:]); m == 0 {
			b.left = 1
			return n, io.EOF
		}
	}
	return n, err
}

func (b *boundedBody) Close() error {
	defer b.cancel()
	return b.rc.Close()
}

// registryTransport returns the round tripper of registry requests.
func (r *Renderer) registryTransport() (http.RoundTripper, error) {
	if r.HTTP == nil {
		return nil, errors.New("no HTTP client was given to rendering")
	}
	base := r.HTTP.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return registryTransport{base: base, timeout: r.HTTP.Timeout}, nil
}

// ociError explains a registry error about ref: not found, or refused
// with which credentials, and what to do.
func ociError(ref string, auth registryAuth, err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return fmt.Errorf("OCI chart %s: %w", ref, redact.Error(err))
	}
	code := te.StatusCode
	for _, d := range te.Errors {
		switch d.Code {
		case transport.UnauthorizedErrorCode:
			code = http.StatusUnauthorized
		case transport.DeniedErrorCode:
			code = http.StatusForbidden
		case transport.NameUnknownErrorCode, transport.ManifestUnknownErrorCode:
			code = http.StatusNotFound
		}
	}
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		if auth.untrusted {
			return fmt.Errorf("OCI chart %s: the registry refused access (%s) with %s: on a pull request's plan only the credentials of chartRegistries in %s are used (never the Docker credential file or credential helpers of this machine): check the reference, or configure the registry there (address, username, passwordEnv)",
				ref, http.StatusText(code), auth.source, config.RepoConfigFile)
		}
		return fmt.Errorf("OCI chart %s: the registry refused access (%s) with %s: check the reference, and give credentials that may read it: chartRegistries in %s (address, username, passwordEnv), or `docker login` / `helm registry login` on this machine",
			ref, http.StatusText(code), auth.source, config.RepoConfigFile)
	case http.StatusNotFound:
		return fmt.Errorf("OCI chart %s: not found in the registry, asked with %s: check helmChart.repository, name and version", ref, auth.source)
	}
	return fmt.Errorf("OCI chart %s: %w", ref, redact.Error(err))
}
