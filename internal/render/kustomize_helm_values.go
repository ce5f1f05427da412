package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"sigs.k8s.io/kustomize/api/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/kustomize/kyaml/yaml/merge2"
	"sigs.k8s.io/yaml"
)

// kustomizeHelmValues are the values kustomize gives helm for chart c:
// valuesFile (by default the chart's own values.yaml), with valuesInline
// merged into it as valuesMerge says (with kustomize's merge), then the
// additionalValuesFiles over them (helm's -f). Like helm, the values are
// read from YAML as JSON would have them (numbers are float64).
func (b *kbuild) kustomizeHelmValues(t *ktree, dir, chartDir string, local bool, ch *helmChart, c types.HelmChart, merge string) (map[string]any, error) {
	var (
		base     []byte
		baseName string
		err      error
	)
	switch {
	case c.ValuesFile != "":
		baseName = "valuesFile"
		base, err = b.valuesFile(t, dir, c.ValuesFile)
	case local:
		baseName = t.name(filepath.Join(chartDir, "values.yaml"))
		p := filepath.Join(chartDir, "values.yaml")
		base, err = b.chartValuesFile(t, dir, p, t.name(p))
	default:
		// A chart downloaded: its values.yaml, as Helm loaded it.
		baseName = ch.desc + " values.yaml"
		base, err = yaml.Marshal(ch.chart.Values)
	}
	if err != nil {
		return nil, err
	}
	if len(c.ValuesInline) > 0 {
		if base, err = mergeInline(base, c.ValuesInline, merge); err != nil {
			return nil, fmt.Errorf("valuesInline: %w", err)
		}
		baseName = "valuesInline"
	}
	vals, err := readValues(base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", baseName, err)
	}
	for i, f := range c.AdditionalValuesFiles {
		if isHTTPFile(f, false) {
			return nil, fmt.Errorf("additionalValuesFiles[%d]: %q is a URL, and kustomize gives these files to helm as paths: vendor it into the repository", i, redactURL(f))
		}
		data, err := b.valuesFile(t, dir, f)
		if err != nil {
			return nil, fmt.Errorf("additionalValuesFiles[%d]: %w", i, err)
		}
		add, err := readValues(data)
		if err != nil {
			return nil, fmt.Errorf("additionalValuesFiles[%d] %s: %w", i, f, err)
		}
		vals = mergeMaps(vals, add)
	}
	return vals, nil
}

// mergeInline merges the inline values into the values file like
// kustomize: override (inline wins), merge (the file wins) or replace
// (inline only).
func mergeInline(file []byte, inline map[string]any, merge string) ([]byte, error) {
	if merge == "replace" {
		return yaml.Marshal(inline)
	}
	fileValues, err := kyaml.Parse(string(file))
	if err != nil {
		return nil, fmt.Errorf("could not parse the values file: %w", err)
	}
	inlineValues, err := kyaml.FromMap(inline)
	if err != nil {
		return nil, err
	}
	var out *kyaml.RNode
	if merge == "override" {
		out, err = merge2.Merge(inlineValues, fileValues.Copy(), kyaml.MergeOptions{})
	} else {
		out, err = merge2.Merge(fileValues, inlineValues.Copy(), kyaml.MergeOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("could not merge values: %w", err)
	}
	m, err := out.Map()
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(m)
}

func readValues(data []byte) (map[string]any, error) {
	vals := map[string]any{}
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, err
	}
	if vals == nil {
		vals = map[string]any{}
	}
	return vals, nil
}

// valuesFile reads a values file of a chart entry: an http(s) URL
// (downloaded), or a path relative to the kustomization.
func (b *kbuild) valuesFile(t *ktree, dir, f string) ([]byte, error) {
	if isHTTPFile(f, false) {
		return b.remoteFile(f)
	}
	if filepath.IsAbs(f) {
		return nil, fmt.Errorf("%q is an absolute path: give one relative to the kustomization", f)
	}
	return b.chartValuesFile(t, dir, filepath.Join(dir, filepath.FromSlash(f)), f)
}

// chartValuesFile reads the values file p (absolute; shown names it in
// messages), which kustomize loads with its load restrictor: in the
// kustomization's directory, or anywhere with LoadRestrictionsNone (in the
// tree for pipe).
func (b *kbuild) chartValuesFile(t *ktree, dir, p, shown string) ([]byte, error) {
	real, err := t.confine(p, shown)
	if err != nil {
		return nil, err
	}
	if b.opts.krusty.LoadRestrictions == types.LoadRestrictionsRootOnly && !within(dir, real) {
		return nil, fmt.Errorf("%s is not in or below the kustomization's directory, where kustomize's load restrictor keeps it (set load-restrictor: LoadRestrictionsNone in input.kustomizeOptions to allow it)", t.name(p))
	}
	data, err := t.read(real, maxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", t.name(p))
	}
	if err != nil {
		return nil, err
	}
	if aerr := checkAliases(t.name(real), data); aerr != nil {
		return nil, aerr
	}
	return data, nil
}
