package render

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// helmRelease is what a chart is rendered for: Helm's release and
// capabilities.
type helmRelease struct {
	Name      string
	Namespace string
	// KubeVersion is .Capabilities.KubeVersion ("" is Helm's default);
	// APIVersions are added to .Capabilities.APIVersions.
	KubeVersion string
	APIVersions []string
	// Hooks keeps the hooks, after the manifests, as `helm template`
	// without --no-hooks prints them (kustomize's helmCharts without
	// skipHooks); SkipTests then leaves the test hooks out (--skip-tests).
	Hooks, SkipTests bool
	// SkipCRDs leaves out the CRDs of the charts' crds/ directories, as
	// `helm template` does without --include-crds (kustomize's helmCharts
	// without includeCRDs).
	SkipCRDs bool
}

// templateChart renders a loaded chart with its values like `helm template
// --no-hooks --include-crds`, each object sourced to its template: Helm's
// engine without a cluster (lookup gives nothing), the CRDs of crds/
// directories first, then the manifests in Helm's install order; hooks
// (tests included), NOTES.txt, partials and empty documents are left out.
// Dependencies that charts/ lacks are resolved from the chart's lock file
// first (resolveDependencies). The chart is not modified: it may be
// rendered again.
func (r *Renderer) templateChart(ctx context.Context, ch *helmChart, vals map[string]any, rel helmRelease) ([]rendered, error) {
	if err := chartutil.ValidateReleaseName(rel.Name); err != nil {
		return nil, fmt.Errorf("release name %q: %w (set helmOptions.releaseName)", rel.Name, err)
	}
	caps := common.DefaultCapabilities.Copy()
	if rel.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(rel.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("helmOptions.kubeVersion %q: %w", rel.KubeVersion, err)
		}
		caps.KubeVersion = *kv
	}
	// Copy shares the default APIVersions: a new slice, or concurrent
	// renderings would append into one array.
	caps.APIVersions = slices.Concat(caps.APIVersions, rel.APIVersions)

	c := cloneChart(ch.chart)
	subDirs, err := r.resolveDependencies(ctx, ch, c)
	if err != nil {
		return nil, err
	}
	hc := *ch
	hc.subDirs, hc.aliases = subDirs, chartAliases(c)
	ch = &hc
	if err := chartutil.ProcessDependencies(c, vals); err != nil {
		return nil, ch.templateError(valuesTypeError(err))
	}
	top, err := commonutil.ToRenderValuesWithSchemaValidation(c, vals, common.ReleaseOptions{
		Name: rel.Name, Namespace: rel.Namespace, Revision: 1, IsInstall: true,
	}, caps, true)
	if err != nil {
		return nil, ch.templateError(err)
	}
	coalesced, ok := top["Values"].(common.Values)
	if !ok {
		return nil, fmt.Errorf("helm template %s: Helm gave no values to render (%T)", ch.desc, top["Values"])
	}
	if err := r.validateValues(ctx, ch, c, coalesced); err != nil {
		return nil, err
	}
	if kv := c.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return nil, &Error{File: ch.metaFile(), Err: fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s (set helmOptions.kubeVersion to a version the chart supports)", kv, caps.KubeVersion.Version)}
	}
	files, err := (&engine.Engine{}).RenderWithContext(ctx, c, top)
	if err != nil {
		return nil, ch.templateError(err)
	}
	// The sorter leaves out partials and empty files; NOTES.txt is no
	// manifest.
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		return nil, ch.templateError(err)
	}
	var b bytes.Buffer
	if !rel.SkipCRDs {
		for _, crd := range c.CRDObjects() {
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", crd.Filename, crd.File.Data)
		}
	}
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	for _, h := range hooks {
		if rel.Hooks && !(rel.SkipTests && slices.Contains(h.Events, release.HookTest)) {
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
		}
	}
	return decodeStream(b.Bytes(), "", false, func(d document, i int) Source {
		return Source{File: ch.templateFile(d.source), Chart: ch.desc, Doc: i, Item: -1}
	})
}

// typeMismatchRe matches Helm's error for a subchart's values that are not
// a map ("type mismatch on sub: %!t(string=x)").
var typeMismatchRe = lazyre.New(`^type mismatch on (\S+): %!t\((\S+?)=`)

// valuesTypeError rewords Helm's error for values of a subchart that are
// not a map.
func valuesTypeError(err error) error {
	if m := typeMismatchRe().FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("the values of subchart %s must be a map, not a %s (check the %s key of the values files and setValues)", m[1], m[2], m[1])
	}
	return err
}

// cloneChart copies what rendering modifies in a chart and its
// dependencies (Helm's dependency processing disables, renames and imports
// values in place): the charts and their metadata.
func cloneChart(c *chart.Chart) *chart.Chart {
	out := *c
	md := *c.Metadata
	md.Dependencies = make([]*chart.Dependency, len(c.Metadata.Dependencies))
	for i, d := range c.Metadata.Dependencies {
		cp := *d
		md.Dependencies[i] = &cp
	}
	out.Metadata = &md
	deps := make([]*chart.Chart, len(c.Dependencies()))
	for i, d := range c.Dependencies() {
		deps[i] = cloneChart(d)
	}
	out.SetDependencies(deps...)
	return &out
}

// metaFile is the chart's Chart.yaml for messages.
func (c *helmChart) metaFile() string {
	if c.repoDir == "" {
		return path.Join(c.chart.Name(), "Chart.yaml")
	}
	return path.Join(c.repoDir, "Chart.yaml")
}

// templateFile maps a template name as Helm gives it (chart/templates/x.yaml,
// chart/charts/sub/templates/y.yaml) to the file of a chart of the
// repository: an aliased subchart by its chart's name, a vendored subchart
// in charts/ by its name (its directory is assumed to be named as its
// chart), an attached file:// dependency by its directory. Names of charts
// that are not in the repository are kept.
func (c *helmChart) templateFile(name string) string {
	if c.repoDir == "" || name == "" {
		return name
	}
	segs := strings.Split(name, "/")
	if len(segs) < 2 {
		return name
	}
	cur, base, rest := segs[0], c.repoDir, 1
	for i := 1; i+1 < len(segs) && segs[i] == "charts"; i += 2 {
		sub := segs[i+1]
		if real, ok := c.aliases[cur+"/charts/"+sub]; ok {
			sub = real
		}
		cur += "/charts/" + sub
		base, rest = path.Join(base, "charts", sub), i+2
		if dir, ok := c.subDirs[cur]; ok {
			if dir == "" {
				return name
			}
			base = dir
		}
	}
	return path.Join(append([]string{base}, segs[rest:]...)...)
}

// chartAliases maps the Helm paths of the aliased subcharts of c (at any
// depth) to their charts' names.
func chartAliases(c *chart.Chart) map[string]string {
	m := map[string]string{}
	var walk func(c *chart.Chart, full string, depth int)
	walk = func(c *chart.Chart, full string, depth int) {
		if depth > maxDependencyDepth {
			return
		}
		for _, d := range c.Metadata.Dependencies {
			if d != nil && d.Alias != "" && d.Alias != d.Name {
				m[full+"/charts/"+d.Alias] = d.Name
			}
		}
		for _, sub := range c.Dependencies() {
			walk(sub, full+"/charts/"+sub.Name(), depth+1)
		}
	}
	walk(c, c.Name(), 0)
	return m
}

// helmLocRe finds the template location in Helm's errors: "template:
// chart/templates/x.yaml:12:3: ...", "execution error at
// (chart/templates/x.yaml:12:3): ..." or "YAML parse error on
// chart/templates/x.yaml: ..." (whose line is of the rendered output: not
// kept).
var helmLocRe = lazyre.New(`(?:template: |\(|YAML parse error on )([^\s():]+\.(?:yaml|yml|tpl|txt|json))(?::(\d+):)?`)

func (c *helmChart) templateError(err error) error {
	e := &Error{Err: fmt.Errorf("helm template %s: %w", c.desc, err)}
	if m := helmLocRe().FindStringSubmatch(err.Error()); m != nil {
		e.File = c.templateFile(m[1])
		if m[2] != "" {
			e.Line, _ = strconv.Atoi(m[2])
		}
	}
	return e
}
