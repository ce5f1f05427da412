package render

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// checkKustomizations walks the kustomization of dir and every local
// kustomization it refers to, refusing what kustomize would fetch from the
// network (remote bases, components and files) or render with an external
// program (helmCharts). Anything else is left for kustomize to judge.
func checkKustomizations(t *tree, dir string) error {
	seen := map[string]bool{}
	var visit func(dir string) error
	visit = func(dir string) error {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		var (
			file string
			data []byte
		)
		for _, n := range kustomizationFiles {
			p := filepath.Join(dir, n)
			if b, err := os.ReadFile(p); err == nil {
				file, data = p, b
				break
			}
		}
		if file == "" {
			return nil
		}
		var k types.Kustomization
		if err := yaml.Unmarshal(data, &k); err != nil {
			// kustomize reports it, with its own words.
			return nil
		}
		rel := t.rel(file)
		if len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0 {
			return errorf(rel, 0, "helmCharts: kustomize's Helm support runs the helm program, and pipe renders without external programs; render the chart with input.helmChart instead")
		}
		type ref struct{ field, value string }
		var refs []ref
		add := func(field string, vs ...string) {
			for _, v := range vs {
				if v != "" {
					refs = append(refs, ref{field, v})
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
		for _, r := range refs {
			if strings.Contains(r.value, "\n") {
				continue // an inline document
			}
			if isRemoteRef(r.value) {
				return errorf(rel, 0, "%s: %q is remote: pipe renders without network access; vendor it into the repository and refer to it by a relative path", r.field, r.value)
			}
		}
		for _, r := range refs {
			switch r.field {
			case "resources", "bases", "components", "generators", "transformers", "validators":
			default:
				continue
			}
			if strings.Contains(r.value, "\n") || filepath.IsAbs(r.value) {
				continue
			}
			p := filepath.Join(dir, filepath.FromSlash(r.value))
			if st, err := os.Stat(p); err == nil && st.IsDir() && within(t.root, p) {
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return visit(dir)
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

var gitUserRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

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
	return gitUserRe.MatchString(l)
}
