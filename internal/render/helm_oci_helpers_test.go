package render

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
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
)

// ociRegistry is go-containerregistry's registry, in process on a
// loopback port, optionally behind basic auth.
type ociRegistry struct {
	*httptest.Server
	// host is 127.0.0.1:port, as references name it.
	host       string
	user, pass string
	// requests counts every request, answered or not.
	requests atomic.Int32
	// tamper, when set, alters the blob responses it is given.
	tamper atomic.Pointer[func(path string, body []byte) []byte]
}

func newOCIRegistry(t *testing.T, user, pass string) *ociRegistry {
	t.Helper()
	reg := &ociRegistry{user: user, pass: pass}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	reg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.requests.Add(1)
		if reg.user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != reg.user || p != reg.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test registry"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
		}
		if f := reg.tamper.Load(); f != nil && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write((*f)(r.URL.Path, rec.Body.Bytes()))
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(reg.Close)
	reg.host = strings.TrimPrefix(reg.URL, "http://")
	return reg
}

// rawManifest is a manifest to put as it is.
type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.b, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// webChart is the chart of testdata at a version.
func webChart(t testing.TB, version string) *chart.Chart {
	t.Helper()
	ch, err := loader.LoadDir(filepath.Join(testdataRoot(t), "charts", "web"))
	if err != nil {
		t.Fatal(err)
	}
	ch.Metadata.Version = version
	return ch
}

// chartArchive packages a chart like `helm package`.
func chartArchive(t testing.TB, ch *chart.Chart) []byte {
	t.Helper()
	p, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// push stores a chart like `helm push`: the Chart.yaml as the config
// (Helm's config media type), the archive as the one layer of
// layerType, an OCI manifest tagged tag. It returns the manifest's digest.
func (reg *ociRegistry) push(t testing.TB, repo, tag string, ch *chart.Chart, layerType types.MediaType) string {
	t.Helper()
	cfg, err := json.Marshal(ch.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	return reg.pushBlobs(t, repo, tag, cfg, helmConfigMediaType, chartArchive(t, ch), layerType)
}

func (reg *ociRegistry) pushBlobs(t testing.TB, repo, tag string, cfg []byte, cfgType types.MediaType, data []byte, layerType types.MediaType) string {
	t.Helper()
	r, err := name.NewRepository(reg.host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: reg.user, Password: reg.pass}))}
	if reg.user == "" {
		opts = []remote.Option{remote.WithAuth(authn.Anonymous)}
	}
	desc := func(b []byte, mt types.MediaType) v1.Descriptor {
		l := static.NewLayer(b, mt)
		if err := remote.WriteLayer(r, l, opts...); err != nil {
			t.Fatal(err)
		}
		d, _ := l.Digest()
		return v1.Descriptor{MediaType: mt, Size: int64(len(b)), Digest: d}
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: desc(cfg, cfgType), Layers: []v1.Descriptor{desc(data, layerType)}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(r.Tag(tag), rawManifest{b, types.OCIManifestSchema1}, opts...); err != nil {
		t.Fatal(err)
	}
	d, _, _ := v1.SHA256(strings.NewReader(string(b)))
	return d.String()
}

// isolateDockerConfig points the Docker credential file (and Podman's) at
// an empty directory, which it returns.
func isolateDockerConfig(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker"))
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("REGISTRY_AUTH_FILE", "")
	return filepath.Join(dir, "docker")
}

// chartInput is an input of a chart of a repository or registry.
func chartInput(repository, chartName, version string) config.KubernetesDeploymentInput {
	return config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Repository: repository, Name: chartName, Version: version}}
}
