// Package charts serves Helm charts for tests the way real servers do: an
// OCI registry (go-containerregistry's, in process on 127.0.0.1, with basic
// auth when asked) holding charts pushed as `helm push` stores them, and
// chart repository directories (archives and index.yaml, as `helm package`
// and `helm repo index` write them) for any static file server.
package charts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"sigs.k8s.io/yaml"
)

// Helm's media types for charts in OCI registries.
const (
	ConfigMediaType types.MediaType = "application/vnd.cncf.helm.config.v1+json"
	ChartMediaType  types.MediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// Package packages the chart directory dir like `helm package`, into
// outDir, and returns the archive's path and the chart.
func Package(dir, outDir string) (string, *chart.Chart, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return "", nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", nil, err
	}
	p, err := chartutil.Save(ch, outDir)
	if err != nil {
		return "", nil, fmt.Errorf("package chart %s: %w", dir, err)
	}
	return p, ch, nil
}

// WriteIndex writes dir/index.yaml for the chart archives (*.tgz) in dir,
// like `helm repo index dir`: each version with its archive's relative URL
// and sha256 digest.
func WriteIndex(dir string) error {
	archives, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil {
		return err
	}
	type version struct {
		*chart.Metadata
		URLs    []string  `json:"urls"`
		Created time.Time `json:"created"`
		Digest  string    `json:"digest"`
	}
	entries := map[string][]version{}
	for _, a := range archives {
		data, err := os.ReadFile(a)
		if err != nil {
			return err
		}
		ch, err := loader.LoadArchive(strings.NewReader(string(data)))
		if err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		sum := sha256.Sum256(data)
		entries[ch.Name()] = append(entries[ch.Name()], version{Metadata: ch.Metadata, URLs: []string{filepath.Base(a)},
			Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Digest: hex.EncodeToString(sum[:])})
	}
	for _, vs := range entries {
		sort.Slice(vs, func(i, j int) bool { return vs[i].Version > vs[j].Version })
	}
	b, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "entries": entries, "generated": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.yaml"), b, 0o644)
}

// Registry is an OCI registry on 127.0.0.1 (plain http, as registries on
// this machine are reached), recording the requests it is sent.
type Registry struct {
	srv *httptest.Server
	// Host is 127.0.0.1:port, as references name it.
	Host       string
	user, pass string

	// Served counts every request, answered or not.
	Served atomic.Int32
	// Tamper, when set, rewrites the bodies of blob downloads (path, body).
	Tamper atomic.Pointer[func(path string, body []byte) []byte]

	mu   sync.Mutex
	reqs []string
}

// StartRegistry starts a registry; with user set, every request needs
// basic auth with user and pass. Close stops it.
func StartRegistry(user, pass string) *Registry {
	reg := &Registry{user: user, pass: pass}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	reg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.Served.Add(1)
		reg.mu.Lock()
		reg.reqs = append(reg.reqs, r.Method+" "+r.URL.Path)
		reg.mu.Unlock()
		if reg.user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != reg.user || p != reg.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test registry"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
		}
		if f := reg.Tamper.Load(); f != nil && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write((*f)(r.URL.Path, rec.Body.Bytes()))
			return
		}
		h.ServeHTTP(w, r)
	}))
	reg.Host = strings.TrimPrefix(reg.srv.URL, "http://")
	return reg
}

// Close stops the registry: later requests fail to connect.
func (reg *Registry) Close() { reg.srv.Close() }

// Requests returns "METHOD PATH" of the requests since the last call.
func (reg *Registry) Requests() []string {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	r := reg.reqs
	reg.reqs = nil
	return r
}

// Push stores the chart archive at path like `helm push`: Chart.yaml's
// metadata as the config, the archive as the one layer, an OCI manifest
// tagged tag in repository repo. It returns the manifest's digest.
func (reg *Registry) Push(archive, repo, tag string) (string, error) {
	data, err := os.ReadFile(archive)
	if err != nil {
		return "", err
	}
	ch, err := loader.LoadArchive(strings.NewReader(string(data)))
	if err != nil {
		return "", fmt.Errorf("%s: %w", archive, err)
	}
	cfg, err := json.Marshal(ch.Metadata)
	if err != nil {
		return "", err
	}
	return reg.PushBlobs(repo, tag, cfg, ConfigMediaType, data, ChartMediaType)
}

// PushBlobs stores an OCI manifest tagged tag in repository repo whose
// config is cfg (of media type cfgType) and whose one layer is data (of
// layerType): a chart as `helm push` stores it, or anything else a test
// needs a registry to hold. It returns the manifest's digest.
func (reg *Registry) PushBlobs(repo, tag string, cfg []byte, cfgType types.MediaType, data []byte, layerType types.MediaType) (string, error) {
	r, err := name.NewRepository(reg.Host + "/" + repo)
	if err != nil {
		return "", err
	}
	auth := authn.Anonymous
	if reg.user != "" {
		auth = authn.FromConfig(authn.AuthConfig{Username: reg.user, Password: reg.pass})
	}
	opts := []remote.Option{remote.WithAuth(auth)}
	desc := func(b []byte, mt types.MediaType) (v1.Descriptor, error) {
		l := static.NewLayer(b, mt)
		if err := remote.WriteLayer(r, l, opts...); err != nil {
			return v1.Descriptor{}, err
		}
		d, _ := l.Digest()
		return v1.Descriptor{MediaType: mt, Size: int64(len(b)), Digest: d}, nil
	}
	cd, err := desc(cfg, cfgType)
	if err != nil {
		return "", err
	}
	ld, err := desc(data, layerType)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cd, Layers: []v1.Descriptor{ld}})
	if err != nil {
		return "", err
	}
	if err := remote.Put(r.Tag(tag), rawManifest{b, types.OCIManifestSchema1}, opts...); err != nil {
		return "", err
	}
	return fetchcache.Digest(b), nil
}

type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.b, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
