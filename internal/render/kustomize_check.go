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
			if st, err := os.Stat(p); err != nil || st.IsDir() {
				if err == nil || !exists(p) {
					continue
				}
				// A dangling symlink: read below, for its error.
			}
			real, err := t.confine(p, t.rel(p))
			if err != nil {
				return &Error{File: t.rel(p), Err: err}
			}
			b, err := t.read(real, maxFileSize)
			if err != nil {
				return &Error{File: t.rel(p), Err: err}
			}
			file, data = p, b
			break
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
		// Inline YAML (patches, generators...) is parsed by kyaml, which
		// expands aliases without bound: check each string as a file.
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
				if err := checkAliases(rel+" (inline YAML)", []byte(y)); err != nil {
					return err
				}
			}
		}
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
			plugin := false
			switch r.field {
			case "generators", "transformers", "validators":
				plugin = true
			case "resources", "bases", "components":
			default:
				continue
			}
			if strings.Contains(r.value, "\n") {
				if plugin {
					if err := checkPluginConfigs([]byte(r.value), rel, r.field); err != nil {
						return err
					}
				}
				continue
			}
			if filepath.IsAbs(r.value) {
				continue
			}
			p := filepath.Join(dir, filepath.FromSlash(r.value))
			st, err := os.Stat(p)
			if err != nil || !within(t.root, p) {
				continue
			}
			if st.IsDir() {
				if err := visit(p); err != nil {
					return err
				}
				continue
			}
			if plugin {
				if b, _, err := t.readFile(dir, r.value); err == nil {
					if err := checkPluginConfigs(b, t.rel(p), r.field); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return visit(dir)
}

// checkPluginConfigs refuses builtin plugin configurations (the documents
// of a generators/transformers/validators entry) that would run Helm or
// load a remote file.
func checkPluginConfigs(data []byte, file, field string) error {
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
			return errorf(file, 0, "%s: HelmChartInflationGenerator runs the helm program, and pipe renders without external programs; render the chart with input.helmChart instead", field)
		}
		vs := append(append(append([]string{c.Path, c.Env}, c.Paths...), c.Envs...), kvPaths(types.KvPairSources{FileSources: c.Files})...)
		for _, r := range c.Replacements {
			vs = append(vs, r.Path)
		}
		for _, v := range vs {
			if v != "" && isRemoteRef(v) {
				return errorf(file, 0, "%s: %s refers to %q, which is remote: pipe renders without network access; vendor it into the repository", field, c.Kind, v)
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
