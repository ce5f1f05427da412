package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/ignore"
)

// helmChart is a loaded chart and how to name it in sources.
type helmChart struct {
	chart *chart.Chart
	// desc names the chart in messages and Source.Chart.
	desc string
	// repoDir is the chart directory relative to the repository root, for a
	// chart of the repository; templates are then named by their file.
	repoDir string
	// tree and dir (absolute, in tree) are the chart's directory, for a
	// chart of a directory: its file:// dependencies are read there. tree
	// is nil for a chart from an archive.
	tree *tree
	dir  string
	// subDirs maps the Helm path of a dependency pipe attached
	// ("web/charts/redis") to its directory relative to the repository, ""
	// when it is not in the repository (see resolveDependencies).
	subDirs map[string]string
	// aliases maps the Helm path of an aliased subchart
	// ("web/charts/cache-a") to its chart's name ("cache"), for the files
	// of aliased subcharts.
	aliases map[string]string
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
	return &helmChart{chart: c, desc: rel, repoDir: rel, tree: a.tree, dir: dir}, nil
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
