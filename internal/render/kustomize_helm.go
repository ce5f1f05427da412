package render

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/gitops-pipe/pipe/internal/tmplfuncs"
)

// helmComponentDir is the (virtual) directory, beside a kustomization,
// of the component holding its rendered helmCharts.
const helmComponentDir = ".pipe-helmcharts"

// helmChartsOf returns the helmCharts of a kustomization and their
// helmGlobals, with the deprecated helmChartInflationGenerator converted
// like kustomize does.
func helmChartsOf(k *types.Kustomization) ([]types.HelmChart, types.HelmGlobals) {
	charts := append([]types.HelmChart(nil), k.HelmCharts...)
	var globals types.HelmGlobals
	if k.HelmGlobals != nil {
		globals = *k.HelmGlobals
	}
	if len(k.HelmChartInflationGenerator) > 0 {
		c, g := types.SplitHelmParameters(k.HelmChartInflationGenerator)
		if k.HelmGlobals == nil {
			globals = g
		}
		charts = append(charts, c...)
	}
	return charts, globals
}

// helmCharts renders the charts of the kustomization name (in directory
// dir of t) like kustomize's HelmChartInflationGenerator, and replaces
// them with a component listing the rendered objects, first of the
// kustomization's components. kustomize adds the generator's objects after
// the resources and the ConfigMap and Secret generators' ones, then the
// components': the objects come at the same place (the objects of the
// `generators:` plugins, which kustomize adds between, come before them
// here). They are annotated
// as kustomize annotates Helm's output, so that the kustomization's
// namespace is not set on them (Helm's namespace is).
func (b *kbuild) helmCharts(t *ktree, dir, name string, doc *kdoc, field string, charts []types.HelmChart, globals types.HelmGlobals, ownNS, inheritedNS string) error {
	comp := filepath.Join(dir, helmComponentDir)
	list := "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n"
	for i, c := range charts {
		objs, err := b.helmChart(t, dir, c, globals, ownNS, inheritedNS)
		if err != nil {
			return &Error{File: name, Line: doc.itemLine(field, i), Err: fmt.Errorf("%s[%d] (chart %s): %w", field, i, c.Name, err)}
		}
		out, err := helmOutput(objs)
		if err != nil {
			return &Error{File: name, Line: doc.itemLine(field, i), Err: fmt.Errorf("%s[%d] (chart %s): %w", field, i, c.Name, err)}
		}
		file := fmt.Sprintf("chart-%d.yaml", i)
		list += "- " + file + "\n"
		if err := b.fs.addFile(filepath.Join(comp, file), out); err != nil {
			return errorf(name, doc.itemLine(field, i), "%s[%d] (chart %s): this kustomization is built twice, under kustomizations of different namespaces, and the chart renders differently for each: set its namespace", field, i, c.Name)
		}
	}
	if err := b.fs.addFile(filepath.Join(comp, "kustomization.yaml"), []byte(list)); err != nil {
		return errorf(name, doc.keyLine(field), "%s: %v", field, err)
	}
	doc.remove("helmCharts")
	doc.remove("helmGlobals")
	doc.remove("helmChartInflationGenerator")
	doc.prepend("components", helmComponentDir)
	return nil
}

// helmChart renders one chart like `helm template` as kustomize runs it,
// but for hooks: templateChart leaves them out (--no-hooks), where
// kustomize keeps them unless skipHooks is set.
func (b *kbuild) helmChart(t *ktree, dir string, c types.HelmChart, globals types.HelmGlobals, ownNS, inheritedNS string) ([]rendered, error) {
	if c.Name == "" {
		return nil, errors.New("chart name cannot be empty")
	}
	merge := c.ValuesMerge
	switch merge {
	case "":
		merge = "override"
	case "override", "merge", "replace":
	default:
		return nil, fmt.Errorf("valuesMerge %q: must be one of override, merge, replace", merge)
	}
	home := globals.ChartHome
	if home == "" {
		home = types.HelmDefaultHome
	}
	if filepath.IsAbs(home) {
		return nil, fmt.Errorf("helmGlobals.chartHome %q is an absolute path: give one relative to the kustomization", home)
	}
	// kustomize's rule: <chartHome>/<name>, or <chartHome>/<name>-<version>/<name>
	// for a chart of a repository at a version.
	chartDir := filepath.Join(dir, filepath.FromSlash(home))
	if c.Version != "" && c.Repo != "" {
		chartDir = filepath.Join(chartDir, c.Name+"-"+c.Version)
	}
	chartDir = filepath.Join(chartDir, filepath.FromSlash(c.Name))
	if !within(t.root, chartDir) {
		return nil, fmt.Errorf("helmGlobals.chartHome %q with the chart %q leads %w", home, c.Name, errOutside)
	}
	ch, local, err := b.loadHelmChart(t, chartDir, c)
	if err != nil {
		return nil, err
	}
	vals, err := b.kustomizeHelmValues(t, dir, chartDir, local, ch, c, merge)
	if err != nil {
		return nil, err
	}
	rel, err := b.helmRelease(c, ownNS, inheritedNS)
	if err != nil {
		return nil, err
	}
	return b.r.templateChart(b.ctx, ch, vals, rel)
}

// loadHelmChart loads the chart at chartDir when it is there (local
// reports so), else downloads it from c.Repo.
func (b *kbuild) loadHelmChart(t *ktree, chartDir string, c types.HelmChart) (*helmChart, bool, error) {
	if st, err := os.Stat(chartDir); err == nil && st.IsDir() {
		real, err := t.confine(chartDir, t.name(chartDir))
		if err != nil {
			return nil, false, err
		}
		ch, err := loadChartDir(t.tree, real)
		if err != nil {
			return nil, false, fmt.Errorf("load chart %s: %w", t.name(real), err)
		}
		hc := &helmChart{chart: ch, desc: t.name(real), tree: t.tree, dir: real}
		if t.desc == "" {
			hc.repoDir = t.rel(real)
		}
		return hc, true, nil
	}
	if c.Repo == "" {
		return nil, false, fmt.Errorf("no chart at %s, and no repo to download it from (kustomize's place for a chart is <chartHome>/<name>, or <chartHome>/<name>-<version>/<name> with a repo and a version)", t.name(chartDir))
	}
	if l := strings.ToLower(c.Repo); !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "oci://") {
		return nil, false, fmt.Errorf("repo %q is not the URL of a chart repository (https://..., or oci://... for a registry)", redactURL(c.Repo))
	}
	version := c.Version
	if version == "" && c.Devel {
		version = ">0.0.0-0" // helm's --devel: pre-releases too
	}
	ch, err := b.r.repoChart(b.ctx, c.Repo, c.Name, version)
	return ch, false, err
}

// helmRelease is the release kustomize gives helm: releaseName or the name
// nameTemplate makes; the chart's namespace, else the kustomization's,
// else the one it inherits from the kustomizations above it, else the
// application's; kubeVersion and apiVersions, unless kustomizeOptions give
// them.
func (b *kbuild) helmRelease(c types.HelmChart, ownNS, inheritedNS string) (helmRelease, error) {
	rel := helmRelease{Name: c.ReleaseName, KubeVersion: c.KubeVersion, APIVersions: c.ApiVersions,
		Hooks: !c.SkipHooks, SkipTests: c.SkipTests, SkipCRDs: !c.IncludeCRDs}
	switch {
	case c.NameTemplate != "" && c.ReleaseName != "":
		return rel, errors.New("releaseName and nameTemplate are both set, and helm refuses a name template with a name: keep one")
	case c.NameTemplate != "":
		name, err := helmNameTemplate(c.NameTemplate)
		if err != nil {
			return rel, fmt.Errorf("nameTemplate: %w", err)
		}
		rel.Name = name
	case c.ReleaseName == "":
		return rel, errors.New("no releaseName: kustomize then has helm make up a release name at every build (<chart>-<timestamp>), which no plan can compare with what runs: set releaseName")
	}
	for _, ns := range []string{c.Namespace, ownNS, inheritedNS, b.r.releaseNamespace(b.app)} {
		if ns != "" {
			rel.Namespace = ns
			break
		}
	}
	if b.opts.helmKubeVersion != "" {
		rel.KubeVersion = b.opts.helmKubeVersion
	}
	if len(b.opts.helmAPIVersions) > 0 {
		rel.APIVersions = b.opts.helmAPIVersions
	}
	return rel, nil
}

// helmNameTemplate makes a release name like helm's --name-template: a Go
// template with Sprig's functions, without those that read the environment
// or the network.
func helmNameTemplate(s string) (string, error) {
	t, err := template.New("nameTemplate").Funcs(tmplfuncs.Sprig()).Parse(s)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := t.Execute(&limitedWriter{w: &out, n: 253}, nil); err != nil {
		return "", err
	}
	return out.String(), nil
}

// limitedWriter fails past n bytes.
type limitedWriter struct {
	w *bytes.Buffer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.w.Len()+len(p) > l.n {
		return 0, fmt.Errorf("the name is longer than %d characters", l.n)
	}
	return l.w.Write(p)
}

// helmOutput is the rendered objects as one stream, each annotated as
// kustomize annotates the objects of Helm (the annotation is dropped from
// kustomize's output).
func helmOutput(objs []rendered) ([]byte, error) {
	var out bytes.Buffer
	for _, o := range objs {
		u := o.obj.DeepCopy()
		ann := u.GetAnnotations()
		if ann == nil {
			ann = map[string]string{}
		}
		ann[konfig.HelmGeneratedAnnotation] = "true"
		u.SetAnnotations(ann)
		j, err := u.MarshalJSON()
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(j)
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}
