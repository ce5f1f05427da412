package render

import (
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// findKustomization reads the kustomization file of dir, if any.
func findKustomization(t *ktree, dir string) (string, []byte, error) {
	for _, n := range kustomizationFiles {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			if err == nil || !exists(p) {
				continue
			}
			// A dangling symlink: read below, for its error.
		}
		real, err := t.confine(p, t.name(p))
		if err != nil {
			return "", nil, &Error{File: t.name(p), Err: err}
		}
		b, err := t.read(real, maxFileSize)
		if err != nil {
			return "", nil, &Error{File: t.name(p), Err: err}
		}
		return p, b, nil
	}
	return "", nil, nil
}

// checkInline checks the inline YAML (patches, generators...), which kyaml
// parses expanding aliases without bound, as it would a file.
func checkInline(name string, k *types.Kustomization) error {
	var inline []string
	for _, p := range k.Patches {
		inline = append(inline, p.Patch)
	}
	for _, p := range k.PatchesJson6902 {
		inline = append(inline, p.Patch)
	}
	for _, p := range k.PatchesStrategicMerge {
		inline = append(inline, string(p))
	}
	inline = append(inline, k.Generators...)
	inline = append(inline, k.Transformers...)
	inline = append(inline, k.Validators...)
	inline = append(inline, k.Resources...)
	for _, y := range inline {
		if strings.Contains(y, "\n") {
			if err := checkAliases(name+" (inline YAML)", []byte(y)); err != nil {
				return err
			}
		}
	}
	return nil
}

// kustomizationRefs lists what a kustomization refers to by path or URL.
func kustomizationRefs(k *types.Kustomization) []kref {
	var refs []kref
	add := func(field string, vs ...string) {
		for _, v := range vs {
			if v != "" {
				refs = append(refs, kref{field, v})
			}
		}
	}
	add("resources", k.Resources...)
	add("bases", k.Bases...)
	add("components", k.Components...)
	add("crds", k.Crds...)
	add("configurations", k.Configurations...)
	add("generators", k.Generators...)
	add("transformers", k.Transformers...)
	add("validators", k.Validators...)
	add("openapi.path", k.OpenAPI["path"])
	for _, p := range k.Patches {
		add("patches.path", p.Path)
	}
	for _, p := range k.PatchesJson6902 {
		add("patchesJson6902.path", p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		if s := string(p); !strings.Contains(s, "\n") {
			add("patchesStrategicMerge", s)
		}
	}
	for _, r := range k.Replacements {
		add("replacements.path", r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		add("configMapGenerator", kvPaths(g.KvPairSources)...)
	}
	for _, g := range k.SecretGenerator {
		add("secretGenerator", kvPaths(g.KvPairSources)...)
	}
	return refs
}

// checkPluginConfigs refuses builtin plugin configurations (the documents
// of a generators/transformers/validators entry) that would run Helm or
// load a remote file; in a remote base (fetched), their paths must stay in
// its repository.
func checkPluginConfigs(data []byte, file, field string, fetched bool) error {
	for _, d := range splitDocuments(data) {
		var c struct {
			Kind         string   `json:"kind"`
			Path         string   `json:"path"`
			Paths        []string `json:"paths"`
			Files        []string `json:"files"`
			Envs         []string `json:"envs"`
			Env          string   `json:"env"`
			Replacements []struct {
				Path string `json:"path"`
			} `json:"replacements"`
		}
		if err := yaml.Unmarshal(d.data, &c); err != nil {
			continue // kustomize reports it
		}
		if c.Kind == "HelmChartInflationGenerator" {
			return errorf(file, 0, "%s: a HelmChartInflationGenerator configuration runs the helm program: list the chart in the kustomization's helmCharts instead (pipe renders those in-process, with enable-helm)", field)
		}
		vs := append(append(append([]string{c.Path, c.Env}, c.Paths...), c.Envs...), kvPaths(types.KvPairSources{FileSources: c.Files})...)
		for _, r := range c.Replacements {
			vs = append(vs, r.Path)
		}
		for _, v := range vs {
			switch {
			case v == "":
			case isRemoteRef(v):
				return errorf(file, 0, "%s: %s refers to %q, which is remote: pipe fetches remote resources, bases and components only: vendor it into the repository", field, c.Kind, redactURL(v))
			case fetched && (filepath.IsAbs(v) || strings.HasPrefix(path.Clean(filepath.ToSlash(v)), "../")):
				return errorf(file, 0, "%s: %s refers to %q, outside the remote base: everything a remote base reads must be in its repository", field, c.Kind, v)
			}
		}
	}
	return nil
}

func kvPaths(s types.KvPairSources) []string {
	var out []string
	for _, f := range s.FileSources {
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		out = append(out, f)
	}
	out = append(out, s.EnvSources...)
	if s.EnvSource != "" {
		out = append(out, s.EnvSource)
	}
	return out
}

var gitUserRe = lazyre.New(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemoteRef reports whether kustomize would take a reference for a URL or
// a Git repository (its rules: a URL scheme, an scp-like user@host:path, or
// github.com/...), optionally after a "git::" prefix.
func isRemoteRef(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	l = strings.TrimPrefix(l, "git::")
	for _, p := range []string{"http://", "https://", "ssh://", "file://", "git://", "github.com/", "github.com:", "gh:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return gitUserRe().MatchString(l)
}
