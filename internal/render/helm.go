package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/ignore"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

// helmChart is a loaded chart and how to name it in sources.
type helmChart struct {
	chart *chart.Chart
	// desc names the chart in messages and Source.Chart.
	desc string
	// repoDir is the chart directory relative to the repository root, for a
	// chart of the repository; templates are then named by their file.
	repoDir string
}

// helm renders input.helmChart like PipeCD's `helm template --no-hooks
// --include-crds RELEASE CHART`: hooks (tests included) and NOTES.txt are
// left out, CRDs of crds/ come first, the rest in Helm's install order.
func (r *Renderer) helm(ctx context.Context, a *appTree) ([]rendered, error) {
	hc := a.input.HelmChart
	var (
		ch      *helmChart
		err     error
		cleanup = func() {}
	)
	switch {
	case hc.GitRemote != "":
		ch, cleanup, err = r.gitChart(ctx, hc.GitRemote, hc.Ref, hc.Path)
	case hc.Repository != "":
		ch, err = r.repoChart(ctx, hc.Repository, hc.Name, hc.Version)
	default:
		ch, err = a.localChart(hc.Path)
	}
	defer cleanup()
	if err != nil {
		return nil, err
	}
	if err := checkDependencies(ch); err != nil {
		return nil, err
	}
	opts := a.input.HelmOptions
	if opts == nil {
		opts = &config.InputHelmOptions{}
	}
	vals, err := r.helmValues(ctx, a, opts)
	if err != nil {
		return nil, err
	}

	rel := helmRelease{Name: a.app.Name, Namespace: r.releaseNamespace(a), KubeVersion: opts.KubeVersion, APIVersions: opts.APIVersions}
	if opts.ReleaseName != "" {
		rel.Name = opts.ReleaseName
	}
	return r.templateChart(ctx, ch, vals, rel)
}

// helmRelease is what a chart is rendered for: Helm's release and
// capabilities.
type helmRelease struct {
	Name      string
	Namespace string
	// KubeVersion is .Capabilities.KubeVersion ("" is Helm's default);
	// APIVersions are added to .Capabilities.APIVersions.
	KubeVersion string
	APIVersions []string
}

// templateChart renders a loaded chart with its values like `helm template
// --no-hooks --include-crds`, each object sourced to its template: Helm's
// engine without a cluster (lookup gives nothing), the CRDs of crds/
// directories first, then the manifests in Helm's install order; hooks
// (tests included), NOTES.txt, partials and empty documents are left out.
// The chart is not modified: it may be rendered again.
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
	caps.APIVersions = append(caps.APIVersions, rel.APIVersions...)

	c := cloneChart(ch.chart)
	if err := chartutil.ProcessDependencies(c, vals); err != nil {
		return nil, ch.templateError(fmt.Errorf("chart dependencies: %w", err))
	}
	top, err := commonutil.ToRenderValuesWithSchemaValidation(c, vals, common.ReleaseOptions{
		Name: rel.Name, Namespace: rel.Namespace, Revision: 1, IsInstall: true,
	}, caps, false)
	if err != nil {
		return nil, ch.templateError(err)
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
		if path.Base(name) == "NOTES.txt" {
			delete(files, name)
		}
	}
	_, manifests, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		return nil, ch.templateError(err)
	}
	var b bytes.Buffer
	for _, crd := range c.CRDObjects() {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", crd.Filename, crd.File.Data)
	}
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return decodeStream(b.Bytes(), "", false, func(d document, i int) Source {
		return Source{File: ch.templateFile(d.source), Chart: ch.desc, Doc: i, Item: -1}
	})
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
// repository; other names are kept.
func (c *helmChart) templateFile(name string) string {
	if c.repoDir == "" || name == "" {
		return name
	}
	_, rest, ok := strings.Cut(name, "/")
	if !ok {
		return name
	}
	return path.Join(c.repoDir, rest)
}

// helmLocRe finds the template location in Helm's errors: "template:
// chart/templates/x.yaml:12:3: ...", "execution error at
// (chart/templates/x.yaml:12:3): ..." or "YAML parse error on
// chart/templates/x.yaml: ..." (whose line is of the rendered output: not
// kept).
var helmLocRe = regexp.MustCompile(`(?:template: |\(|YAML parse error on )([^\s():]+\.(?:yaml|yml|tpl|txt|json))(?::(\d+):)?`)

func (c *helmChart) templateError(err error) error {
	e := &Error{Err: fmt.Errorf("helm template %s: %w", c.desc, err)}
	if m := helmLocRe.FindStringSubmatch(err.Error()); m != nil {
		e.File = c.templateFile(m[1])
		if m[2] != "" {
			e.Line, _ = strconv.Atoi(m[2])
		}
	}
	return e
}

// localChart loads a chart directory of the repository (path relative to
// the application directory).
func (a *appTree) localChart(ref string) (*helmChart, error) {
	dir, err := a.resolve(a.dir, ref)
	if err != nil {
		return nil, fmt.Errorf("helmChart.path: %w", err)
	}
	c, err := loadChartDir(a.tree, dir)
	if err != nil {
		return nil, &Error{File: a.rel(dir), Err: fmt.Errorf("load chart: %w", err)}
	}
	rel := a.rel(dir)
	return &helmChart{chart: c, desc: rel, repoDir: rel}, nil
}

// exists reports whether p exists, as itself (a symlink counts, wherever it
// points).
func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// loadChartDir loads a chart directory like Helm's loader.LoadDir
// (.helmignore honoured, symlinks followed, Helm's size limits), refusing
// files that resolve outside t and files that are not regular files.
func loadChartDir(t *tree, dir string) (*chart.Chart, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist", t.rel(dir))
		}
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", t.rel(dir))
	}
	rules := ignore.Empty()
	if p := filepath.Join(dir, ignore.HelmIgnore); exists(p) {
		if p, err = t.confine(p, t.rel(p)); err != nil {
			return nil, err
		}
		b, err := t.read(p, archive.MaxDecompressedFileSize)
		switch {
		case errors.Is(err, os.ErrNotExist):
			// A dangling symlink: no rules, as for no file.
		case err != nil:
			return nil, err
		default:
			if rules, err = ignore.Parse(bytes.NewReader(b)); err != nil {
				return nil, fmt.Errorf("%s: %w", t.rel(p), err)
			}
		}
	}
	rules.AddDefaults()
	var (
		files []*archive.BufferedFile
		total int64
	)
	var walk func(real, name string, depth int) error
	walk = func(real, name string, depth int) error {
		if depth > 32 {
			return fmt.Errorf("%s: too many nested directories (a symlink loop?)", name)
		}
		entries, err := os.ReadDir(real)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if strings.EqualFold(e.Name(), ".git") {
				continue // Git's own files are never part of a chart
			}
			n := path.Join(name, e.Name())
			p := filepath.Join(real, e.Name())
			if e.Type()&os.ModeSymlink != 0 {
				if p, err = t.confine(p, t.rel(p)); err != nil {
					return err
				}
			}
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			if fi.IsDir() {
				if rules.Ignore(n, fi) {
					continue
				}
				if err := walk(p, n, depth+1); err != nil {
					return err
				}
				continue
			}
			if rules.Ignore(n, fi) {
				continue
			}
			// Only regular files (a named pipe or a device is refused,
			// naming it), and Helm's caps: a file, and the chart.
			data, err := t.read(p, archive.MaxDecompressedFileSize)
			if err != nil {
				return err
			}
			if total += int64(len(data)); total > archive.MaxDecompressedChartSize {
				return fmt.Errorf("the chart's files are more than %s (Helm's limit for a chart, reached at %s)", fsafe.Bytes(archive.MaxDecompressedChartSize), t.rel(p))
			}
			files = append(files, &archive.BufferedFile{Name: n, Data: bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))})
		}
		return nil
	}
	if err := walk(dir, "", 0); err != nil {
		return nil, err
	}
	// ReadDir sorts each directory, which keeps names in walk order.
	return loader.LoadFiles(files)
}
