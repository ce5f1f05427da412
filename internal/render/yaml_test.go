package render

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

// laughs is a "billion laughs" ConfigMap: nine levels of lists of nine
// aliases of the level before, some 400 bytes standing for 9^9 strings.
func laughs() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nx:\n  l0: &l0 [lol]\n")
	for i := 1; i <= 9; i++ {
		refs := make([]string, 9)
		for j := range refs {
			refs[j] = fmt.Sprintf("*l%d", i-1)
		}
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", i, i, strings.Join(refs, ", "))
	}
	return b.String()
}

// chainedMerges is the same with merge keys: each level merges the one
// before nine times.
func chainedMerges() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nx:\n  l0: &l0 {a: b}\n")
	for i := 1; i <= 11; i++ {
		refs := make([]string, 9)
		for j := range refs {
			refs[j] = fmt.Sprintf("*l%d", i-1)
		}
		fmt.Fprintf(&b, "  l%d: &l%d {<<: [%s], k%d: v}\n", i, i, strings.Join(refs, ", "), i)
	}
	b.WriteString("data: {<<: *l11}\n")
	return b.String()
}

const (
	mergeCycle = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cycle}\ndata: &s {<<: *s}\n"
	aliasCycle = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cycle}\ndata: &s {a: [*s]}\n"
)

// TestAliasBombs: YAML whose anchors and aliases expand without bound (an
// alias inside its own anchor's value, the "billion laughs", chained merge
// keys) is refused with the file, wherever the repository's YAML is
// parsed: plain manifests, Helm values files, a chart's values and
// templates, kustomize resources. kustomize's kyaml alone has no bounds of
// its own: a resource with aliasCycle overflowed the stack, laughs ran out
// of memory.
func TestAliasBombs(t *testing.T) {
	bombs := []struct {
		name, data string
		line       int    // of the alias, when pipe's check locates it
		msg        string // what the error says then
		lib        string // what sigs.k8s.io/yaml says, unlocated
	}{
		{"merge cycle", mergeCycle, 4, "alias *s expands into itself", "anchor 's' value contains itself"},
		{"alias cycle", aliasCycle, 4, "alias *s expands into itself", "anchor 's' value contains itself"},
		{"billion laughs", laughs(), 11, "anchors and aliases expand this document past 250000 nodes", "document contains excessive aliasing"},
		{"chained merges", chainedMerges(), 11, "anchors and aliases expand this document past 250000 nodes", "document contains excessive aliasing"},
	}
	chart := func(values, template string) map[string]string {
		return map[string]string{
			"charts/c/Chart.yaml":         "apiVersion: v2\nname: c\nversion: 0.1.0\n",
			"charts/c/values.yaml":        values,
			"charts/c/templates/cm.yaml":  template,
			"app/kustomization.yaml":      "resources: [cm.yaml]\n",
			"app/values.yaml":             values,
			"app/cm.yaml":                 template,
			"app/ok.yaml":                 "a: 1\n",
			"app/plain/kustomization.txt": "not read",
		}
	}
	const okCM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n"
	helm := func(values ...string) config.KubernetesDeploymentInput {
		return config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../charts/c"}, HelmOptions: &config.InputHelmOptions{ValueFiles: values}}
	}
	for _, b := range bombs {
		for _, site := range []struct {
			name  string
			files map[string]string
			in    config.KubernetesDeploymentInput
			dir   string
			file  string // the file the error names
			line  int    // 0: the library does not say
			want  []string
		}{
			{name: "plain manifest", files: chart("a: 1\n", b.data), dir: "app/plainonly", file: "app/plainonly/cm.yaml", line: b.line,
				in: config.KubernetesDeploymentInput{Manifests: []string{"cm.yaml"}}, want: []string{b.msg}},
			{name: "values file", files: chart("a: 1\n", okCM), dir: "app", file: "app/bomb.yaml",
				in: helm("bomb.yaml"), want: []string{"invalid YAML", b.lib}},
			{name: "chart values", files: chart(b.data, okCM), dir: "app", file: "",
				in: helm("ok.yaml"), want: []string{"charts/c", "values.yaml", b.lib}},
			// Helm parses its output before pipe does.
			{name: "chart template", files: chart("a: 1\n", b.data), dir: "app", file: "charts/c/templates/cm.yaml",
				in: helm("ok.yaml"), want: []string{"YAML parse error on c/templates/cm.yaml", b.lib}},
			{name: "kustomize resource", files: chart("a: 1\n", b.data), dir: "app", file: "app/kustomization.yaml",
				in: config.KubernetesDeploymentInput{}, want: []string{"kustomize build", fmt.Sprintf("app/cm.yaml:%d: column ", b.line), b.msg}},
		} {
			t.Run(b.name+"/"+site.name, func(t *testing.T) {
				files := site.files
				files["app/bomb.yaml"] = b.data
				files["app/plainonly/cm.yaml"] = b.data
				root := writeFiles(t, filepath.Join(t.TempDir(), "repo"), files)
				err := renderErr(t, &Renderer{}, app(root, site.dir, site.in))
				re := wantErr(t, err, site.want...)
				if site.file != "" && (re == nil || re.File != site.file || site.line != 0 && re.Line != site.line) {
					t.Errorf("error location = %+v, want %s:%d", re, site.file, site.line)
				}
			})
		}
	}
}

// TestCheckAliases: what kustomize reads is checked with the file and the
// alias's line; what is not YAML is left to kustomize.
func TestCheckAliases(t *testing.T) {
	if e := checkAliases("app/cm.yaml", []byte("a: b\n---\n"+mergeCycle)); e == nil || e.File != "app/cm.yaml" || e.Line != 6 ||
		!strings.Contains(e.Error(), "app/cm.yaml:6: column 15: alias *s expands into itself") {
		t.Errorf("got %v", e)
	}
	for _, ok := range []string{"key: value\n", "base: &b {a: 1}\nuse: {<<: *b, c: 2}\n", "not: [yaml\n", "\x00\x01"} {
		if e := checkAliases("f", []byte(ok)); e != nil {
			t.Errorf("%q refused: %v", ok, e)
		}
	}
}

// TestAliasBombsInlineKustomize: YAML written inline in a kustomization
// (a patch, a generator's config) is parsed by kyaml as well: it is
// checked like a file, and refused naming the kustomization.
func TestAliasBombsInlineKustomize(t *testing.T) {
	indent := func(s string) string {
		return "      " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n      ") + "\n"
	}
	for name, bomb := range map[string]string{"billion laughs": laughs(), "alias cycle": aliasCycle} {
		for field, k := range map[string]string{
			"patches":               "resources: [cm.yaml]\npatches:\n  - patch: |\n" + indent(bomb),
			"patchesStrategicMerge": "resources: [cm.yaml]\npatchesStrategicMerge:\n  - |\n" + indent(bomb),
		} {
			t.Run(name+"/"+field, func(t *testing.T) {
				root := writeFiles(t, filepath.Join(t.TempDir(), "repo"), map[string]string{
					"app/kustomization.yaml": k,
					"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\n",
				})
				err := renderErr(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{}))
				wantErr(t, err, "app/kustomization.yaml (inline YAML)", "expand")
			})
		}
	}
}
