package render

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// fanOutRepo is a repository with the application chart charts/app, and
// layers of width file:// charts (charts/l<layer>-<i>): the application
// depends on every chart of layer 1, each chart of a layer on every chart
// of the next, and the charts of the last layer hold a ConfigMap named by
// where Helm renders it. As a tree, the last layer is used width^layers
// times.
func fanOutRepo(t testing.TB, layers, width int) string {
	t.Helper()
	files := map[string]string{"apps/app/.keep": ""}
	deps := func(layer int) (string, []*chart.Dependency) {
		var b strings.Builder
		var locked []*chart.Dependency
		for i := range width {
			name := fmt.Sprintf("l%d-%d", layer, i)
			fmt.Fprintf(&b, "  - {name: %s, version: 0.1.0, repository: \"file://../%s\"}\n", name, name)
			locked = append(locked, lockDep(name, "file://../"+name, "0.1.0"))
		}
		return b.String(), locked
	}
	addChart := func(dir, name string, layer int) {
		y := "apiVersion: v2\nname: " + name + "\nversion: 0.1.0\n"
		if layer < layers {
			list, locked := deps(layer + 1)
			y += "dependencies:\n" + list
			files[dir+"/Chart.lock"] = chartLock(t, y, nil, locked...)
		} else {
			files[dir+"/templates/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Template.BasePath | replace \"/\" \".\" }}\n"
		}
		files[dir+"/Chart.yaml"] = y
	}
	addChart("charts/app", "app", 0)
	for layer := 1; layer <= layers; layer++ {
		for i := range width {
			name := fmt.Sprintf("l%d-%d", layer, i)
			addChart("charts/"+name, name, layer)
		}
	}
	return writeFiles(t, t.TempDir(), files)
}

var fanOutInput = config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/app"}}

// TestHelmDependencyFanOut: 7 layers of 2 charts attach 254 charts (2 +
// 4 + ... + 128), each chart loaded once; every use of a leaf renders,
// sourced to its directory.
func TestHelmDependencyFanOut(t *testing.T) {
	root := fanOutRepo(t, 7, 2)
	start := time.Now()
	m := mustRender(t, &Renderer{}, app(root, "apps/app", fanOutInput))
	t.Logf("rendered %d objects in %v", len(m.Objects), time.Since(start))
	if n := len(m.Objects); n != 128 {
		t.Fatalf("%d objects, want 128 (one per path to a chart of the last layer)", n)
	}
	seen := map[string]bool{}
	for _, o := range m.Objects {
		name := o.Object.GetName()
		if !strings.HasPrefix(name, "app.charts.l1-") || strings.Count(name, ".charts.") != 7 {
			t.Errorf("object %s: not rendered 7 charts deep", name)
		}
		seen[name] = true
		if f := o.Source.File; f != "charts/l7-0/templates/cm.yaml" && f != "charts/l7-1/templates/cm.yaml" {
			t.Errorf("object %s: source %q, want a chart of the last layer", name, f)
		}
	}
	if len(seen) != 128 {
		t.Errorf("%d distinct objects, want 128", len(seen))
	}
}

// TestHelmDependencyFanOutCap: 8 layers of 4 charts would attach 87380
// charts; the render stops at maxDependencyCharts, fast, naming the chart
// whose dependencies pass it.
func TestHelmDependencyFanOutCap(t *testing.T) {
	for _, shape := range []struct{ layers, width int }{{8, 4}, {8, 2}} {
		t.Run(fmt.Sprintf("%dx%d", shape.layers, shape.width), func(t *testing.T) {
			root := fanOutRepo(t, shape.layers, shape.width)
			start := time.Now()
			err := renderErr(t, &Renderer{}, app(root, "apps/app", fanOutInput))
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("the render took %v to fail", d)
			}
			re := wantErr(t, err, "dependencies attach more than 256 charts", "each use of a chart counts",
				"vendor fewer or flatter dependencies")
			if re == nil || !strings.HasPrefix(re.File, "charts/") || !strings.HasSuffix(re.File, "/Chart.lock") {
				t.Errorf("error location = %+v, want a Chart.lock", re)
			}
		})
	}
}

// TestHelmDependencyDepth: a chain of dependencies nests at most
// maxDependencyDepth charts deep, also when a chart loaded once is used
// again deeper.
func TestHelmDependencyDepth(t *testing.T) {
	root := fanOutRepo(t, 8, 1)
	if n := len(mustRender(t, &Renderer{}, app(root, "apps/app", fanOutInput)).Objects); n != 1 {
		t.Errorf("%d objects, want 1", n)
	}
	root = fanOutRepo(t, 9, 1)
	re := wantErr(t, renderErr(t, &Renderer{}, app(root, "apps/app", fanOutInput)), "chart charts/l8-0: dependencies nest more than 8 charts deep")
	if re == nil || re.File != "charts/l8-0/Chart.lock" {
		t.Errorf("error location = %+v", re)
	}
	// The application depends on l3-0 (resolved first, 1 deep) and on
	// l1-0, which reaches l3-0 again 3 deep: its chain then nests 9 deep.
	y := "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n" +
		"  - {name: l3-0, version: 0.1.0, repository: \"file://../l3-0\"}\n" +
		"  - {name: l1-0, version: 0.1.0, repository: \"file://../l1-0\"}\n"
	writeFiles(t, root, map[string]string{
		"charts/app/Chart.yaml": y,
		"charts/app/Chart.lock": chartLock(t, y, nil, lockDep("l3-0", "file://../l3-0", "0.1.0"), lockDep("l1-0", "file://../l1-0", "0.1.0")),
	})
	wantErr(t, renderErr(t, &Renderer{}, app(root, "apps/app", fanOutInput)), "dependencies nest more than 8 charts deep")
}
