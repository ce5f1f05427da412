package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/redact"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"sigs.k8s.io/yaml"
)

// ChartRepo is an HTTP chart repository (an index.yaml and its charts),
// with its credentials resolved.
type ChartRepo struct {
	// Name is what helmChart.repository refers to.
	Name string
	// URL is the repository's base URL (index.yaml is below it).
	URL      string
	Username string
	Password string
	// Insecure skips TLS certificate verification for this repository.
	Insecure bool
}

// ChartReposFromConfig resolves the HTTP chart repositories of
// .pipe/config.yaml: passwords come from the named environment variable
// (through getenv) or file. GIT repositories are left out: they only give
// credentials to charts fetched by gitRemote.
//
// A passwordFile is a path of the machine pipe runs on, which the trusted
// config names: it may be anywhere, but it must be a regular file of at
// most fsafe.MaxSecretSize bytes (a named pipe or a device is refused,
// without blocking), and no error holds its content.
func ChartReposFromConfig(repos []config.ChartRepository, getenv func(string) string) ([]ChartRepo, error) {
	var out []ChartRepo
	for _, c := range repos {
		if c.Type == "GIT" {
			continue
		}
		r := ChartRepo{Name: c.Name, URL: c.Address, Username: c.Username, Insecure: c.Insecure}
		switch {
		case c.PasswordEnv != "":
			if r.Password = getenv(string(c.PasswordEnv)); r.Password == "" {
				return nil, fmt.Errorf("chart repository %s: environment variable %s (passwordEnv) is not set", c.Name, c.PasswordEnv)
			}
		case c.PasswordFile != "":
			b, err := fsafe.ReadHostFile(string(c.PasswordFile), fsafe.MaxSecretSize)
			if err != nil {
				return nil, fmt.Errorf("chart repository %s: passwordFile: %w (it must be a file holding the password only)", c.Name, err)
			}
			r.Password = strings.TrimRight(string(b), "\r\n")
		}
		out = append(out, r)
	}
	return out, nil
}

// indexCache keeps the repository indexes one Renderer downloaded, so that
// rendering many applications reads each index once.
type indexCache struct {
	mu sync.Mutex
	m  map[string]*chartIndex
}

func (r *Renderer) findRepo(name string) (*ChartRepo, error) {
	var names []string
	for i := range r.ChartRepos {
		if r.ChartRepos[i].Name == name {
			return &r.ChartRepos[i], nil
		}
		names = append(names, r.ChartRepos[i].Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("helmChart.repository %q: no chart repository is configured (chartRepositories in .pipe/config.yaml)", name)
	}
	return nil, fmt.Errorf("helmChart.repository %q is not a configured chart repository (chartRepositories in .pipe/config.yaml: %s)", name, strings.Join(names, ", "))
}

// client returns the HTTP client for a repository: the injected one, with
// TLS verification off when the repository is insecure.
func (r *Renderer) client(cr *ChartRepo) *http.Client {
	if r.HTTP == nil || !cr.Insecure {
		return r.HTTP
	}
	base, ok := r.HTTP.Transport.(*http.Transport)
	if r.HTTP.Transport == nil {
		base, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok {
		return r.HTTP
	}
	t := base.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.InsecureSkipVerify = true // the repository is configured `insecure: true`
	c := *r.HTTP
	c.Transport = t
	return &c
}

// repoChart downloads a chart from a chart repository: the version
// (exact, or a semver constraint; empty means the latest stable) is found
// in the repository's index.yaml, and the archive's digest is checked
// against the index.
func (r *Renderer) repoChart(ctx context.Context, repoName, name, version string) (*helmChart, error) {
	if strings.HasPrefix(repoName, "oci://") {
		return nil, fmt.Errorf("helmChart.repository %q: OCI registries are not supported yet", repoName)
	}
	cr, err := r.findRepo(repoName)
	if err != nil {
		return nil, err
	}
	idx, err := r.index(ctx, cr)
	if err != nil {
		return nil, err
	}
	cv, err := idx.get(name, version)
	if err != nil {
		switch {
		case errors.Is(err, errNoChartName):
			return nil, fmt.Errorf("chart %q is not in repository %s", name, cr.Name)
		case version == "":
			return nil, fmt.Errorf("chart %s/%s: no stable version in the repository index", cr.Name, name)
		}
		return nil, fmt.Errorf("chart %s/%s: no version %s in the repository index (%s)", cr.Name, name, version, versionsOf(idx, name))
	}
	desc := cr.Name + "/" + name + "@" + cv.Version
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("chart %s: the repository index gives no URL", desc)
	}
	u, err := resolveReferenceURL(cr.URL, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", desc, err)
	}
	user, pass := "", ""
	if sameHost(u, cr.URL) {
		if user, pass, err = cr.credentials(); err != nil {
			return nil, err
		}
	}
	data, err := r.getWith(ctx, r.client(cr), u, user, pass)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", desc, err)
	}
	if cv.Digest != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, cv.Digest) {
			return nil, fmt.Errorf("chart %s: the archive's sha256 %s does not match the index's digest %s", desc, got, cv.Digest)
		}
	}
	c, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", desc, err)
	}
	return &helmChart{chart: c, desc: desc}, nil
}

func versionsOf(idx *chartIndex, name string) string {
	var vs []string
	for i, cv := range idx.Entries[name] {
		if i == 10 {
			vs = append(vs, "...")
			break
		}
		vs = append(vs, cv.Version)
	}
	return "has " + strings.Join(vs, ", ")
}

// credentials returns the repository's user and password, unless they
// would cross the network in clear: plain http to another host than this
// machine.
func (cr *ChartRepo) credentials() (user, pass string, err error) {
	if cr.Username == "" && cr.Password == "" {
		return "", "", nil
	}
	if redact.Cleartext(cr.URL) {
		host := "its host"
		if u, err := url.Parse(cr.URL); err == nil && u.Host != "" {
			host = u.Host
		}
		return "", "", fmt.Errorf("chart repository %s: refusing to send its credentials over plain http to %s, where anyone on the network path can read them: "+
			"give it an https:// address (chartRepositories in .pipe/config.yaml); plain http carries credentials only to this machine (localhost, 127.0.0.1, ::1)", cr.Name, host)
	}
	return cr.Username, cr.Password, nil
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host
}

// index downloads and parses a repository's index.yaml, once per Renderer.
func (r *Renderer) index(ctx context.Context, cr *ChartRepo) (*chartIndex, error) {
	r.indexes.mu.Lock()
	defer r.indexes.mu.Unlock()
	if idx, ok := r.indexes.m[cr.URL]; ok {
		return idx, nil
	}
	user, pass, err := cr.credentials()
	if err != nil {
		return nil, err
	}
	u := strings.TrimSuffix(cr.URL, "/") + "/index.yaml"
	data, err := r.getWith(ctx, r.client(cr), u, user, pass)
	if err != nil {
		return nil, fmt.Errorf("chart repository %s: %w", cr.Name, err)
	}
	idx, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("chart repository %s: index.yaml: %w", cr.Name, err)
	}
	if r.indexes.m == nil {
		r.indexes.m = map[string]*chartIndex{}
	}
	r.indexes.m[cr.URL] = idx
	return idx, nil
}

// parseIndex reads a repository index (YAML or JSON) like Helm, dropping
// empty entries.
func parseIndex(data []byte) (*chartIndex, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty index.yaml file")
	}
	idx := &chartIndex{}
	var err error
	if json.Valid(data) {
		err = json.Unmarshal(data, idx)
	} else {
		err = yaml.Unmarshal(data, idx)
	}
	if err != nil {
		return nil, err
	}
	if idx.APIVersion == "" {
		return nil, errors.New("no API version specified")
	}
	for name, cvs := range idx.Entries {
		kept := cvs[:0]
		for _, cv := range cvs {
			if cv != nil && cv.Metadata != nil && cv.Version != "" {
				kept = append(kept, cv)
			}
		}
		idx.Entries[name] = kept
	}
	idx.sortEntries()
	return idx, nil
}

// chartIndex is a chart repository's index.yaml, in Helm's format (Helm's
// pkg/repo brings its getters and plugins along).
type chartIndex struct {
	APIVersion string                     `json:"apiVersion"`
	Entries    map[string][]*chartVersion `json:"entries"`
}

// chartVersion is an entry of an index: a chart's metadata and where its
// archive is.
type chartVersion struct {
	*chart.Metadata
	URLs   []string `json:"urls"`
	Digest string   `json:"digest,omitempty"`
}

var errNoChartName = errors.New("no chart name found")

// sortEntries sorts each chart's versions newest first (unparsable last).
func (i *chartIndex) sortEntries() {
	for _, vs := range i.Entries {
		sort.SliceStable(vs, func(a, b int) bool {
			va, err := semver.NewVersion(vs[a].Version)
			if err != nil {
				return false
			}
			vb, err := semver.NewVersion(vs[b].Version)
			if err != nil {
				return true
			}
			return va.GreaterThan(vb)
		})
	}
}

// get finds a version like Helm's IndexFile.Get: an exact match first,
// else the newest matching the constraint ("" is the newest stable).
func (i *chartIndex) get(name, version string) (*chartVersion, error) {
	vs, ok := i.Entries[name]
	if !ok {
		return nil, errNoChartName
	}
	constraint := "*"
	if version != "" {
		constraint = version
		for _, v := range vs {
			if v.Version == version {
				return v, nil
			}
		}
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		if sv, err := semver.NewVersion(v.Version); err == nil && c.Check(sv) {
			return v, nil
		}
	}
	return nil, fmt.Errorf("no chart version found for %s-%s", name, version)
}

// resolveReferenceURL resolves an index's archive URL against the
// repository URL like Helm (the repository URL as a directory, its query
// kept).
func resolveReferenceURL(baseURL, refURL string) (string, error) {
	ref, err := url.Parse(refURL)
	if err != nil {
		return "", fmt.Errorf("failed to parse %s as URL: %w", refURL, err)
	}
	if ref.IsAbs() {
		return refURL, nil
	}
	base, err := url.Parse(baseURL)
	if err != nil {
		return "", fmt.Errorf("failed to parse %s as URL: %w", baseURL, err)
	}
	base.RawPath = strings.TrimSuffix(base.RawPath, "/") + "/"
	base.Path = strings.TrimSuffix(base.Path, "/") + "/"
	u := base.ResolveReference(ref)
	u.RawQuery = base.RawQuery
	return u.String(), nil
}
