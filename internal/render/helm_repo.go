package render

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"github.com/gitops-pipe/pipe/internal/redact"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
)

// ChartRepo is an HTTP chart repository (an index.yaml and its charts).
type ChartRepo struct {
	// Name is what helmChart.repository refers to.
	Name string
	// URL is the repository's base URL (index.yaml is below it).
	URL      string
	Username string
	// Password is the password when it is known; ChartReposFromConfig
	// leaves it empty and reads passwordEnv or passwordFile when a chart
	// of the repository is first downloaded.
	Password string
	// Insecure skips TLS certificate verification for this repository.
	Insecure bool

	password *secret
}

// ChartReposFromConfig returns the HTTP chart repositories of
// .pipe/config.yaml. Their passwords (passwordEnv through getenv, or
// passwordFile) are read only when a chart of the repository is
// downloaded: a repository whose variable is unset fails the applications
// that use it, naming the repository, the variable and the config file,
// and no other. GIT repositories are left out: they only give credentials
// to charts fetched by gitRemote.
//
// A passwordFile is a path of the machine pipe runs on, which the trusted
// config names: it may be anywhere, but it must be a regular file of at
// most fsafe.MaxSecretSize bytes (a named pipe or a device is refused,
// without blocking), and no error holds its content.
func ChartReposFromConfig(repos []config.ChartRepository, getenv func(string) string) ([]ChartRepo, error) {
	var out []ChartRepo
	for i, c := range repos {
		if c.Type == "GIT" {
			continue
		}
		field := fmt.Sprintf("chartRepositories[%d]", i)
		if u, err := url.Parse(c.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("chart repository %s: %s.address %q in %s is not an http(s) URL", c.Name, field, redactURL(c.Address), config.RepoConfigFile)
		}
		out = append(out, ChartRepo{
			Name: c.Name, URL: c.Address, Username: c.Username, Insecure: c.Insecure,
			password: newSecret("chart repository "+c.Name, field, c.PasswordEnv, c.PasswordFile, getenv),
		})
	}
	return out, nil
}

// describe names the repository in messages: its name and URL.
func (cr *ChartRepo) describe() string {
	u := redactURL(cr.URL)
	if cr.Name == "" || cr.Name == cr.URL {
		return u
	}
	return cr.Name + " (" + u + ")"
}

// credentials returns the repository's user and password (reading a
// configured password now), unless they would cross the network in
// clear: plain http to another host than this machine.
func (cr *ChartRepo) credentials() (user, pass string, err error) {
	pass = cr.Password
	if pass == "" {
		if pass, err = cr.password.get(); err != nil {
			return "", "", err
		}
	}
	if cr.Username == "" && pass == "" {
		return "", "", nil
	}
	if redact.Cleartext(cr.URL) {
		host := "its host"
		if u, err := url.Parse(cr.URL); err == nil && u.Host != "" {
			host = u.Host
		}
		return "", "", fmt.Errorf("chart repository %s: refusing to send its credentials over plain http to %s, where anyone on the network path can read them: "+
			"give it an https:// address (chartRepositories in %s); plain http carries credentials only to this machine (localhost, 127.0.0.1, ::1)", cr.Name, host, config.RepoConfigFile)
	}
	return cr.Username, pass, nil
}

// chartRepo finds the repository helmChart.repository (or a dependency's
// repository) names: a configured name, also written "@name" or
// "alias:name" (Chart.yaml's forms), or an http(s) URL, which takes the
// credentials of the configured repository of that URL, if any.
func (r *Renderer) chartRepo(repository string) (*ChartRepo, error) {
	if strings.HasPrefix(repository, "http://") || strings.HasPrefix(repository, "https://") {
		for i := range r.ChartRepos {
			if strings.TrimSuffix(r.ChartRepos[i].URL, "/") == strings.TrimSuffix(repository, "/") {
				return &r.ChartRepos[i], nil
			}
		}
		u := strings.TrimSuffix(repository, "/")
		return &ChartRepo{Name: u, URL: u}, nil
	}
	name, _ := repoRefName(repository)
	if cr := r.chartRepoNamed(name); cr != nil {
		return cr, nil
	}
	var names []string
	for i := range r.ChartRepos {
		names = append(names, r.ChartRepos[i].Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("helmChart.repository %q: no chart repository is configured (chartRepositories in %s); give the repository's https:// URL or configure it", repository, config.RepoConfigFile)
	}
	return nil, fmt.Errorf("helmChart.repository %q is not a configured chart repository (chartRepositories in %s: %s)", repository, config.RepoConfigFile, strings.Join(names, ", "))
}

// client returns the HTTP client for a repository: the injected one, with
// TLS verification off when the repository is insecure. That needs the
// client's transport to be an *http.Transport (or nil: the default one),
// or to have a WithInsecureTLS method (netguard's);
// with any other, an insecure repository's client fails every request,
// naming the repository, rather than verifying certificates anyway.
func (r *Renderer) client(cr *ChartRepo) *http.Client {
	if r.HTTP == nil || !cr.Insecure {
		return r.HTTP
	}
	r.fetch.mu.Lock()
	defer r.fetch.mu.Unlock()
	if c := r.fetch.insecure[cr.Name]; c != nil {
		return c
	}
	if r.fetch.insecure == nil {
		r.fetch.insecure = map[string]*http.Client{}
	}
	c := r.insecureClient(cr)
	r.fetch.insecure[cr.Name] = c
	return c
}

// insecureClient is the injected client with TLS verification off.
func (r *Renderer) insecureClient(cr *ChartRepo) *http.Client {
	c := *r.HTTP
	if t, ok := r.HTTP.Transport.(interface{ WithInsecureTLS() http.RoundTripper }); ok {
		c.Transport = t.WithInsecureTLS() // a guarded transport (internal/netguard)
		return &c
	}
	base, ok := r.HTTP.Transport.(*http.Transport)
	if r.HTTP.Transport == nil {
		base, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok {
		c.Transport = failingTransport{err: fmt.Errorf("`insecure: true` of chart repository %s (chartRepositories in %s) cannot be applied: "+
			"the HTTP client given to rendering has a %T transport, not an *http.Transport whose certificate verification could be turned off",
			cr.Name, config.RepoConfigFile, r.HTTP.Transport)}
		return &c
	}
	t := base.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.InsecureSkipVerify = true // the repository is configured `insecure: true`
	c.Transport = t
	return &c
}

// failingTransport fails every request with err.
type failingTransport struct{ err error }

func (t failingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return nil, t.err
}

// cacheKindChart is the download cache's kind of chart archives from
// repositories, by repository URL, chart name and exact version.
const cacheKindChart = "helm-chart"

// repoChart loads a chart: from an OCI registry (oci://), or from a chart
// repository (see chartRepo), where the version (exact, or a semver
// constraint; empty means the latest stable) is found in index.yaml and
// the archive's digest is checked against the index. A chart of an exact
// version that is in the download cache is loaded with no network at all.
func (r *Renderer) repoChart(ctx context.Context, repository, name, version string) (*helmChart, error) {
	if strings.HasPrefix(repository, "oci://") {
		return r.ociChart(ctx, repository, name, version)
	}
	cr, err := r.chartRepo(repository)
	if err != nil {
		return nil, err
	}
	c := r.cache()
	key := func(v string) string { return cr.URL + "|" + name + "|" + v }
	if exactVersion(version) {
		if data, ok := c.Get(cacheKindChart, key(version), maxDownload); ok {
			return loadArchive(data, cr.Name+"/"+name)
		}
	}
	idx, err := r.index(ctx, cr)
	if err != nil {
		return nil, err
	}
	cv, err := idx.get(name, version)
	switch {
	case errors.Is(err, errNoChartName):
		return nil, fmt.Errorf("chart %q is not in chart repository %s", name, cr.describe())
	case err != nil:
		return nil, fmt.Errorf("chart %s/%s: %w", cr.Name, name, err)
	case cv == nil && version == "":
		return nil, fmt.Errorf("chart %s/%s: the repository index has no stable version (%s): set helmChart.version", cr.Name, name, idx.versions(name))
	case cv == nil:
		return nil, fmt.Errorf("chart %s/%s: no version %s in the repository index (%s)", cr.Name, name, version, idx.versions(name))
	}
	desc := cr.Name + "/" + name + "@" + cv.Version
	data, digest, err := r.repoArchive(ctx, c, cr, cv, key(cv.Version), desc)
	if err != nil {
		return nil, err
	}
	if version != cv.Version && exactVersion(version) {
		c.SetRef(cacheKindChart, key(version), digest)
	}
	return loadArchive(data, cr.Name+"/"+name)
}

// repoArchive returns the archive of an index entry: the cached copy when
// the cache holds the index's digest (or, offline, the version), else
// downloaded and checked against the index's digest; and the archive's
// digest ("sha256:<hex>").
func (r *Renderer) repoArchive(ctx context.Context, c *fetchcache.Cache, cr *ChartRepo, cv *chartVersion, key, desc string) ([]byte, string, error) {
	want, hasDigest := fetchcache.ParseDigest(cv.Digest)
	if hasDigest {
		if data, ok := c.Blob(want, maxDownload); ok {
			c.SetRef(cacheKindChart, key, "sha256:"+want)
			return data, "sha256:" + want, nil
		}
	} else if cv.Digest != "" {
		return nil, "", fmt.Errorf("chart %s: the repository index's digest %q is not a SHA-256 in hex", desc, cv.Digest)
	}
	if c.Offline() {
		if d, ok := c.Ref(cacheKindChart, key); ok {
			if data, ok := c.Blob(d, maxDownload); ok {
				return data, d, nil
			}
		}
		return nil, "", c.Missing("chart " + desc + " of repository " + cr.describe())
	}
	if len(cv.URLs) == 0 {
		return nil, "", fmt.Errorf("chart %s: the repository index gives no URL", desc)
	}
	u, err := resolveReferenceURL(cr.URL, cv.URLs[0])
	if err != nil {
		return nil, "", fmt.Errorf("chart %s: %w", desc, err)
	}
	user, pass := "", ""
	if sameHost(u, cr.URL) {
		if user, pass, err = cr.credentials(); err != nil {
			return nil, "", err
		}
	}
	data, err := r.getWith(ctx, r.client(cr), u, user, pass)
	if err != nil {
		return nil, "", fmt.Errorf("chart %s: %w", desc, err)
	}
	got := fetchcache.Digest(data)
	if hasDigest && got != "sha256:"+want {
		return nil, "", fmt.Errorf("chart %s: the archive downloaded from %s has digest %s, not the index's sha256:%s: the repository is inconsistent or the download was altered; nothing was rendered from it",
			desc, redactURL(u), got, want)
	}
	c.Put(cacheKindChart, key, data)
	return data, got, nil
}

// loadArchive loads a chart archive (.tgz) within Helm's limits; the
// chart is named where@version, with the version of its Chart.yaml.
func loadArchive(data []byte, where string) (*helmChart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", where, err)
	}
	return &helmChart{chart: ch, desc: where + "@" + ch.Metadata.Version}, nil
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}
