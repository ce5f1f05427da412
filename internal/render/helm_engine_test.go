package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"sigs.k8s.io/yaml"
)

// shopCases render testdata/repo/charts/shop, an umbrella chart whose
// vendored dependencies have conditions, tags, import-values and aliases,
// whose charts have CRDs, hooks, tests, NOTES.txt, partials, empty
// documents, lookup and .Capabilities.APIVersions.Has. Their golden files
// in testdata/helm were written by `helm template --no-hooks --include-crds`
// semantics as Helm's pkg/action (v3.21.4, Install with ClientOnly) renders
// them, through the renderer before it used Helm's engine directly. Two
// differences in sources, on purpose: the ServiceAccount after an empty
// document of templates/config.yaml is sourced to its file (pkg/action's
// stream lost it), and the objects of the aliased worker-a and worker-b to
// the files of charts/worker (Helm names them by the alias).
var shopCases = []struct {
	name string
	in   config.KubernetesDeploymentInput
}{
	{"defaults", config.KubernetesDeploymentInput{
		HelmChart:   &config.InputHelmChart{Path: "../../charts/shop"},
		HelmOptions: &config.InputHelmOptions{KubeVersion: "v1.30.2"},
	}},
	{"toggled", config.KubernetesDeploymentInput{
		Namespace: "prod",
		HelmChart: &config.InputHelmChart{Path: "../../charts/shop"},
		HelmOptions: &config.InputHelmOptions{
			ReleaseName: "store",
			KubeVersion: "1.31.0",
			APIVersions: []string{"monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1"},
			SetValues: map[string]string{
				"db.enabled": "true", "tags.backend": "true", "tags.jobs": "false",
				"worker-b.enabled": "false", "worker-a.replicas": "5", "global.region": "us-east", "logLevel": "info",
			},
		},
	}},
}

// dumpManifests writes the rendered objects in order, each with its
// source, as a YAML stream.
func dumpManifests(m *Manifests) []byte {
	var b bytes.Buffer
	for _, o := range m.Objects {
		y, err := yaml.Marshal(o.Object.Object)
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(&b, "# Source: %s (chart %s, doc %d, item %d)\n%s---\n", o.Source.File, o.Source.Chart, o.Source.Doc, o.Source.Item, y)
	}
	return b.Bytes()
}

func TestHelmShopKeys(t *testing.T) {
	root := testdataRoot(t)
	// defaults: db's condition is false (its CRD and StatefulSet left out),
	// cache's only tag is false, queue has a true tag; lib's values are
	// imported; worker is rendered twice under its aliases; CRDs of the
	// chart, then of subcharts, come first; hooks, tests, NOTES.txt and the
	// empty template are left out; no ServiceMonitor without its API.
	wantKeys(t, mustRender(t, &Renderer{}, app(root, "apps/helm", shopCases[0].in)),
		"apiextensions.k8s.io:CustomResourceDefinition::shops.example.com",
		"apiextensions.k8s.io:CustomResourceDefinition::queues.example.com",
		":Namespace::default-extra",
		":ServiceAccount:default:demo-shop",
		":ConfigMap:default:demo-config",
		":ConfigMap:default:demo-kept",
		":Service:default:demo-shop",
		"apps:Deployment:default:demo-worker-a",
		"apps:Deployment:default:demo-worker-b",
		"apps:Deployment:default:demo-shop",
		"example.com:Queue:default:demo-queue",
	)
	// toggled: db enabled, cache's tag true, worker-b's condition false,
	// and .Capabilities.APIVersions.Has finds the ServiceMonitor API.
	wantKeys(t, mustRender(t, &Renderer{}, app(root, "apps/helm", shopCases[1].in)),
		"apiextensions.k8s.io:CustomResourceDefinition::shops.example.com",
		"apiextensions.k8s.io:CustomResourceDefinition::databases.example.com",
		"apiextensions.k8s.io:CustomResourceDefinition::queues.example.com",
		":Namespace::prod-extra",
		":ServiceAccount:prod:store-shop",
		":ConfigMap:prod:store-config",
		":ConfigMap:prod:store-kept",
		":Service:prod:store-shop",
		"apps:Deployment:prod:store-cache",
		"apps:Deployment:prod:store-worker-a",
		"apps:Deployment:prod:store-shop",
		"apps:StatefulSet:prod:store-db",
		"example.com:Queue:prod:store-queue",
		"monitoring.coreos.com:ServiceMonitor:prod:store-shop",
	)
}

func TestHelmShopGolden(t *testing.T) {
	root := testdataRoot(t)
	for _, c := range shopCases {
		t.Run(c.name, func(t *testing.T) {
			got := dumpManifests(mustRender(t, &Renderer{}, app(root, "apps/helm", c.in)))
			want, err := os.ReadFile(filepath.Join("testdata", "helm", "shop-"+c.name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("rendered:\n%s\nwant (Helm's pkg/action):\n%s", got, want)
			}
		})
	}
}
