package render

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/testenv/charts"
	"github.com/google/go-containerregistry/pkg/v1/types"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

// ociRegistry is go-containerregistry's registry, in process on a
// loopback port, optionally behind basic auth (internal/testenv/charts):
// Host names it in references, Served counts requests, Tamper alters blob
// downloads.
type ociRegistry struct{ *charts.Registry }

func newOCIRegistry(t *testing.T, user, pass string) *ociRegistry {
	t.Helper()
	reg := charts.StartRegistry(user, pass)
	t.Cleanup(reg.Close)
	return &ociRegistry{reg}
}

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
	d, err := reg.PushBlobs(repo, tag, cfg, cfgType, data, layerType)
	if err != nil {
		t.Fatal(err)
	}
	return d
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
