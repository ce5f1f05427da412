package render

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"sigs.k8s.io/yaml"
)

// chartLock writes a lock file like `helm dependency update`: the locked
// entries, and the digest of the chart's dependencies (repositories given
// by name already replaced by their URLs) with them.
func chartLock(t testing.TB, chartYAML string, repoURLs map[string]string, locked ...*chart.Dependency) string {
	t.Helper()
	var md chart.Metadata
	if err := yaml.Unmarshal([]byte(chartYAML), &md); err != nil {
		t.Fatal(err)
	}
	for _, d := range md.Dependencies {
		if u, ok := repoURLs[d.Repository]; ok {
			d.Repository = u
		}
	}
	b, err := json.Marshal([2][]*chart.Dependency{md.Dependencies, locked})
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(chart.Lock{Generated: time.Now().UTC(), Digest: fetchcache.Digest(b), Dependencies: locked})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func lockDep(name, repository, version string) *chart.Dependency {
	return &chart.Dependency{Name: name, Repository: repository, Version: version}
}

// TestHelmLockDigest checks the digest against a Chart.lock that Helm
// wrote (bitnami/wordpress's, with its Chart.yaml's dependencies).
func TestHelmLockDigest(t *testing.T) {
	deps := `dependencies:
  - condition: memcached.enabled
    name: memcached
    repository: oci://registry-1.docker.io/bitnamicharts
    version: 7.x.x
  - condition: mariadb.enabled
    name: mariadb
    repository: oci://registry-1.docker.io/bitnamicharts
    version: 18.x.x
  - name: common
    repository: oci://registry-1.docker.io/bitnamicharts
    tags:
      - bitnami-common
    version: 2.x.x
`
	lock := `dependencies:
- name: memcached
  repository: oci://registry-1.docker.io/bitnamicharts
  version: 7.0.6
- name: mariadb
  repository: oci://registry-1.docker.io/bitnamicharts
  version: 18.0.5
- name: common
  repository: oci://registry-1.docker.io/bitnamicharts
  version: 2.19.2
digest: sha256:88f139bdbfc47912743cec19b9ae0dccb73703e9df39b18a6797915702078ce9
generated: "2024-05-15T12:57:13.430837+02:00"
`
	load := func(deps string) *chart.Chart {
		c := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "wordpress", Version: "22.2.0"}, Lock: &chart.Lock{}}
		if err := yaml.Unmarshal([]byte(deps), c.Metadata); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal([]byte(lock), c.Lock); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := load(deps)
	locked, err := (&Renderer{}).lockedDependencies(c, chartPlace{name: "wordpress", helmPath: "wordpress"}, c.Metadata.Dependencies)
	if err != nil {
		t.Fatal(err)
	}
	if len(locked) != 3 || locked[1].Version != "18.0.5" {
		t.Errorf("locked = %+v", locked)
	}
	c = load(strings.Replace(deps, "18.x.x", "19.x.x", 1))
	_, err = (&Renderer{}).lockedDependencies(c, chartPlace{name: "wordpress", helmPath: "wordpress"}, c.Metadata.Dependencies)
	re := wantErr(t, err, "chart wordpress: Chart.lock is out of sync with the dependencies of Chart.yaml", "helm dependency update wordpress", "commit Chart.lock")
	if re == nil || re.File != "wordpress/Chart.lock" {
		t.Errorf("error location = %+v", re)
	}
}

// depsRepo is a repository with an application chart whose dependencies
// are not vendored: web from the chart repository srv (as front), and lib
// from file://../lib, which has its own file:// dependency leaf.
func depsRepo(t *testing.T, srvURL string) string {
	appYAML := "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n" +
		"  - {name: web, version: ~0.1.0, repository: " + srvURL + "/charts, alias: front}\n" +
		"  - {name: lib, version: 0.1.0, repository: \"file://../lib\", import-values: [settings]}\n"
	libYAML := "apiVersion: v2\nname: lib\nversion: 0.1.0\ndependencies:\n  - {name: leaf, version: '>=1.0.0', repository: file://../leaf}\n"
	return writeFiles(t, t.TempDir(), map[string]string{
		"charts/app/Chart.yaml": appYAML,
		"charts/app/Chart.lock": chartLock(t, appYAML, nil,
			lockDep("web", srvURL+"/charts", "0.1.0"), lockDep("lib", "file://../lib", "0.1.0")),
		"charts/app/values.yaml":        "front:\n  replicaCount: 3\n",
		"charts/app/templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {level: {{ .Values.level | quote }}}\n",
		"charts/lib/Chart.yaml":         libYAML,
		"charts/lib/Chart.lock":         chartLock(t, libYAML, nil, lockDep("leaf", "file://../leaf", ">=1.0.0")),
		"charts/lib/values.yaml":        "exports:\n  settings:\n    level: debug\n",
		"charts/lib/templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lib}\n",
		"charts/leaf/Chart.yaml":        "apiVersion: v2\nname: leaf\nversion: 1.2.0\n",
		"charts/leaf/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaf}\n",
		"apps/app/.keep":                "",
	})
}

func TestHelmDependencies(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	root := depsRepo(t, srv.URL)
	r := &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}}
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/app"}}
	m := mustRender(t, r, app(root, "apps/app", in))
	wantKeys(t, m,
		"apiextensions.k8s.io:CustomResourceDefinition::widgets.example.com",
		":ConfigMap:default:leaf",
		":ConfigMap:default:lib",
		":ConfigMap:default:app",
		":Service:default:demo-front",
		"apps:Deployment:default:demo-front",
		"example.com:Widget::demo-front",
	)
	src := map[string]string{}
	for _, o := range m.Objects {
		src[o.Object.GetKind()+"/"+o.Object.GetName()] = o.Source.File
	}
	for name, want := range map[string]string{
		// Objects of the downloaded chart keep Helm's names; those of
		// file:// dependencies are sourced to their directories.
		"Deployment/demo-front": "app/charts/front/templates/deployment.yaml",
		"ConfigMap/lib":         "charts/lib/templates/cm.yaml",
		"ConfigMap/leaf":        "charts/leaf/templates/cm.yaml",
		"ConfigMap/app":         "charts/app/templates/cm.yaml",
	} {
		if src[name] != want {
			t.Errorf("%s: source %q, want %q", name, src[name], want)
		}
	}
	if r, _, _ := unstructuredInt(m.Objects[5].Object.Object, "spec", "replicas"); r != 3 {
		t.Errorf("front's replicas = %d: the parent's values for the alias were not applied", r)
	}
	if lvl := m.Objects[3].Object.Object["data"].(map[string]any)["level"]; lvl != "debug" {
		t.Errorf("imported value = %v", lvl)
	}
}

func TestHelmDependencyByRepositoryName(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	appYAML := "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - {name: web, version: 0.2.0, repository: \"@example\"}\n"
	root := writeFiles(t, t.TempDir(), map[string]string{
		// helm dependency update hashes @example as the repository's URL,
		// and locks the URL.
		"charts/app/Chart.yaml": appYAML,
		"charts/app/Chart.lock": chartLock(t, appYAML, map[string]string{"@example": srv.URL + "/charts"}, lockDep("web", srv.URL+"/charts", "0.2.0")),
		"apps/app/.keep":        "",
	})
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/app"}}
	r := &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}}
	m := mustRender(t, r, app(root, "apps/app", in))
	if n := len(m.Objects); n != 4 {
		t.Errorf("%d objects: %v", n, keyStrings(m))
	}
	err := renderErr(t, &Renderer{HTTP: srv.Client()}, app(root, "apps/app", in))
	re := wantErr(t, err, "dependency web: repository @example is not a configured chart repository", "chartRepositories")
	if re == nil || re.File != "charts/app/Chart.yaml" {
		t.Errorf("error location = %+v", re)
	}
}

func TestHelmDependencyFromOCI(t *testing.T) {
	isolateDockerConfig(t)
	reg, _ := webRegistry(t, "", "")
	repo := "oci://" + reg.Host + "/charts"
	appYAML := "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - {name: web, version: ~0.1.0, repository: \"" + repo + "\", alias: a}\n  - {name: web, version: ~0.1.0, repository: \"" + repo + "\", alias: b, condition: b.enabled}\n"
	root := writeFiles(t, t.TempDir(), map[string]string{
		"charts/app/Chart.yaml":  appYAML,
		"charts/app/Chart.lock":  chartLock(t, appYAML, nil, lockDep("web", repo, "0.1.0"), lockDep("web", repo, "0.1.0")),
		"charts/app/values.yaml": "b:\n  enabled: false\n",
		"apps/app/.keep":         "",
	})
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/app"}}
	m := mustRender(t, &Renderer{HTTP: &http.Client{}}, app(root, "apps/app", in))
	wantKeys(t, m,
		"apiextensions.k8s.io:CustomResourceDefinition::widgets.example.com",
		":Service:default:demo-a",
		"apps:Deployment:default:demo-a",
		"example.com:Widget::demo-a",
	)
	if got := m.Objects[2].Source.File; got != "app/charts/a/templates/deployment.yaml" {
		t.Errorf("source = %q", got)
	}
}

func TestHelmDependencyOfDownloadedChart(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	umbrella := "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n  - {name: web, version: 0.2.0, repository: " + srv.URL + "/charts}\n"
	srv.addChart(t, map[string]string{
		"umbrella/Chart.yaml":           umbrella,
		"umbrella/Chart.lock":           chartLock(t, umbrella, nil, lockDep("web", srv.URL+"/charts", "0.2.0")),
		"umbrella/templates/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: umbrella}\n",
		"umbrella/values.yaml":          "web:\n  replicaCount: 7\n",
		"umbrella/templates/NOTES.txt":  "hi\n",
		"umbrella/templates/_x.tpl":     "",
		"umbrella/templates/empty.yaml": "",
	})
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	r := &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}}
	m := mustRender(t, r, app(root, "app", repoInput("umbrella", "1.0.0")))
	wantKeys(t, m,
		"apiextensions.k8s.io:CustomResourceDefinition::widgets.example.com",
		":ConfigMap:default:umbrella",
		":Service:default:demo-web",
		"apps:Deployment:default:demo-web",
		"example.com:Widget::demo-web",
	)
	if got := m.Objects[3].Source.File; got != "umbrella/charts/web/templates/deployment.yaml" {
		t.Errorf("source = %q", got)
	}
}

// addChart packages a chart of files (named "<chart>/...") like `helm
// package` and adds it to the repository and its index.
func (s *chartRepoServer) addChart(t *testing.T, files map[string]string) {
	t.Helper()
	var bf []*archive.BufferedFile
	for name, data := range files {
		_, rest, _ := strings.Cut(name, "/")
		bf = append(bf, &archive.BufferedFile{Name: rest, Data: []byte(data)})
	}
	ch, err := loader.LoadFiles(bf)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := parseIndex(s.files["/charts/index.yaml"])
	if err != nil {
		t.Fatal(err)
	}
	idx.Entries[ch.Name()] = append(idx.Entries[ch.Name()], s.addArchive(t, ch))
	b, err := yaml.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	s.files["/charts/index.yaml"] = b
}

func TestHelmDependencyErrors(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	lib := map[string]string{
		"charts/lib/Chart.yaml":        "apiVersion: v2\nname: lib\nversion: 0.1.0\n",
		"charts/lib/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lib}\n",
	}
	// withLock is an application chart depending on dep, locked as lock.
	withLock := func(dep string, lock ...*chart.Dependency) map[string]string {
		y := "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - " + dep + "\n"
		return map[string]string{"charts/app/Chart.yaml": y, "charts/app/Chart.lock": chartLock(t, y, nil, lock...)}
	}
	cycle := func() map[string]string {
		a := "apiVersion: v2\nname: a\nversion: 0.1.0\ndependencies:\n  - {name: b, version: 0.1.0, repository: file://../b}\n"
		b := "apiVersion: v2\nname: b\nversion: 0.1.0\ndependencies:\n  - {name: a, version: 0.1.0, repository: file://../a}\n"
		return map[string]string{
			"charts/app/Chart.yaml": a, "charts/app/Chart.lock": chartLock(t, a, nil, lockDep("b", "file://../b", "0.1.0")),
			"charts/a/Chart.yaml": a, "charts/a/Chart.lock": chartLock(t, a, nil, lockDep("b", "file://../b", "0.1.0")),
			"charts/b/Chart.yaml": b, "charts/b/Chart.lock": chartLock(t, b, nil, lockDep("a", "file://../a", "0.1.0")),
		}
	}
	cases := []struct {
		name  string
		files map[string]string
		file  string
		want  []string
	}{
		{"lock out of sync", map[string]string{
			"charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n  - {name: lib, version: 0.2.0, repository: file://../lib}\n",
			"charts/app/Chart.lock": chartLock(t, "dependencies:\n  - {name: lib, version: 0.1.0, repository: file://../lib}\n", nil, lockDep("lib", "file://../lib", "0.1.0")),
		}, "charts/app/Chart.lock", []string{"chart charts/app: Chart.lock is out of sync with the dependencies of Chart.yaml", "helm dependency update charts/app", "commit Chart.lock"}},
		{"file outside the repository", withLock("{name: lib, version: 0.1.0, repository: file://../../../outside}", lockDep("lib", "file://../../../outside", "0.1.0")),
			"charts/app/Chart.lock", []string{"dependency lib", "outside the repository"}},
		{"absolute file path", withLock("{name: lib, version: 0.1.0, repository: file:///etc}", lockDep("lib", "file:///etc", "0.1.0")),
			"charts/app/Chart.lock", []string{"dependency lib", "relative to the chart directory"}},
		{"file dependency missing", withLock("{name: lib, version: 0.1.0, repository: file://../nope}", lockDep("lib", "file://../nope", "0.1.0")),
			"charts/nope", []string{"dependency lib", "load chart", "charts/nope does not exist"}},
		{"file dependency of another version", withLock("{name: lib, version: 0.2.0, repository: file://../lib}", lockDep("lib", "file://../lib", "0.2.0")),
			"charts/app/Chart.lock", []string{"dependency lib", "charts/lib holds chart lib 0.1.0, not 0.2.0", "helm dependency update charts/app"}},
		{"file dependency of another chart", withLock("{name: util, version: 0.1.0, repository: file://../lib}", lockDep("util", "file://../lib", "0.1.0")),
			"charts/app/Chart.lock", []string{"dependency util", `charts/lib holds chart "lib", not "util"`}},
		{"no repository", withLock("{name: lib, version: 0.1.0}", lockDep("lib", "", "0.1.0")),
			"charts/app/Chart.lock", []string{"dependency lib", "it has no repository, so it must be in charts/"}},
		{"unknown scheme", withLock("{name: lib, version: 0.1.0, repository: s3://bucket/charts}", lockDep("lib", "s3://bucket/charts", "0.1.0")),
			"charts/app/Chart.lock", []string{"dependency lib", `"s3://bucket/charts"`, "not file://, http(s)://, oci:// or a chart repository name"}},
		{"version not in the repository", withLock("{name: web, version: 9.9.9, repository: "+srv.URL+"/charts}", lockDep("web", srv.URL+"/charts", "9.9.9")),
			"charts/app/Chart.lock", []string{"chart charts/app: dependency web", "locked: repository", "version 9.9.9", "no version 9.9.9"}},
		{"cycle", cycle(), "charts/a/Chart.lock", []string{"chart charts/a: dependency b", "the dependencies form a cycle: charts/b → charts/a → charts/b"}},
		{"cycle through the application chart", withLock("{name: app, version: 1.0.0, repository: \"file://.\"}", lockDep("app", "file://.", "1.0.0")),
			"charts/app/Chart.lock", []string{"dependency app", "the dependencies form a cycle: charts/app → charts/app"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"apps/app/.keep": ""}
			for k, v := range lib {
				files[k] = v
			}
			for k, v := range c.files {
				files[k] = v
			}
			root := writeFiles(t, t.TempDir(), files)
			in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/app"}}
			r := &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}}
			re := wantErr(t, renderErr(t, r, app(root, "apps/app", in)), c.want...)
			if re == nil || re.File != c.file {
				t.Errorf("error location = %+v, want %s", re, c.file)
			}
		})
	}
}

func TestHelmFileDependencyOfDownloadedChart(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	y := "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n  - {name: lib, version: 0.1.0, repository: file://../lib}\n"
	srv.addChart(t, map[string]string{"umbrella/Chart.yaml": y, "umbrella/Chart.lock": chartLock(t, y, nil, lockDep("lib", "file://../lib", "0.1.0"))})
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	r := &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{srv.repo(false)}}
	wantErr(t, renderErr(t, r, app(root, "app", repoInput("umbrella", "1.0.0"))),
		"umbrella/Chart.lock: chart example/umbrella@1.0.0: dependency lib", "a file:// dependency can only be read for a chart in a repository directory")
}

// TestHelmRequirementsLock: an apiVersion v1 chart lists its dependencies
// in requirements.yaml and locks them in requirements.lock, whose digest
// Helm 2 computed differently; both digests are accepted.
func TestHelmRequirementsLock(t *testing.T) {
	req := "dependencies:\n  - {name: lib, version: 0.1.0, repository: file://../lib}\n"
	var md chart.Metadata
	if err := yaml.Unmarshal([]byte(req), &md); err != nil {
		t.Fatal(err)
	}
	v2, err := json.Marshal(map[string][]*chart.Dependency{"dependencies": md.Dependencies})
	if err != nil {
		t.Fatal(err)
	}
	helm2Lock := "digest: " + fetchcache.Digest(v2) + "\ndependencies:\n  - {name: lib, version: 0.1.0, repository: file://../lib}\n"
	for name, lock := range map[string]string{
		"helm 3": chartLock(t, req, nil, lockDep("lib", "file://../lib", "0.1.0")),
		"helm 2": helm2Lock,
	} {
		t.Run(name, func(t *testing.T) {
			root := writeFiles(t, t.TempDir(), map[string]string{
				"charts/app/Chart.yaml":        "apiVersion: v1\nname: app\nversion: 1.0.0\n",
				"charts/app/requirements.yaml": req,
				"charts/app/requirements.lock": lock,
				"charts/lib/Chart.yaml":        "apiVersion: v1\nname: lib\nversion: 0.1.0\n",
				"charts/lib/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lib}\n",
				"apps/app/.keep":               "",
			})
			in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/app"}}
			wantKeys(t, mustRender(t, &Renderer{}, app(root, "apps/app", in)), ":ConfigMap:default:lib")
		})
	}
	root := writeFiles(t, t.TempDir(), map[string]string{
		"charts/app/Chart.yaml":        "apiVersion: v1\nname: app\nversion: 1.0.0\n",
		"charts/app/requirements.yaml": req,
		"apps/app/.keep":               "",
	})
	in := config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../../charts/app"}}
	re := wantErr(t, renderErr(t, &Renderer{}, app(root, "apps/app", in)), "no requirements.lock", "commit requirements.lock")
	if re == nil || re.File != "charts/app/requirements.yaml" {
		t.Errorf("error location = %+v", re)
	}
}
