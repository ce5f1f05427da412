package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// maxDependencyDepth bounds how deep charts' dependencies may nest.
const maxDependencyDepth = 8

// chartPlace is where a chart's files are, for its file:// dependencies and
// for messages.
type chartPlace struct {
	// t and dir (absolute, in t) hold the chart's directory; t is nil for
	// a chart from an archive.
	t   *tree
	dir string
	// name names the chart in messages: its directory relative to the
	// repository, or how it was downloaded.
	name string
	// helmPath is the chart's path as Helm names its files
	// ("top/charts/sub").
	helmPath string
}

// file names one of the chart's files in messages and Error.File: by its
// path in the repository, else as Helm names it.
func (p chartPlace) file(name string) string {
	if p.t != nil {
		return p.t.rel(filepath.Join(p.dir, name))
	}
	return path.Join(p.helmPath, name)
}

// depResolver attaches the dependencies a chart lacks.
type depResolver struct {
	r *Renderer
	// dirs maps the Helm path of each attached chart ("top/charts/sub") to
	// its directory relative to the repository, "" when it is not in the
	// repository (see helmChart.templateFile).
	dirs map[string]string
}

// resolveDependencies attaches to c (a copy of ch's chart) the charts of
// the Chart.yaml dependencies that charts/ does not hold, as `helm
// dependency build` would download them: the versions of Chart.lock
// (requirements.lock for apiVersion v1), which must be in sync with
// Chart.yaml. A file:// dependency is read from the chart's directory,
// within the repository; the others are downloaded (repoChart). The
// dependencies of attached charts are resolved in turn, at most
// maxDependencyDepth deep. Charts that charts/ holds are left as they are,
// like Helm does.
func (r *Renderer) resolveDependencies(ctx context.Context, ch *helmChart, c *chart.Chart) (map[string]string, error) {
	d := &depResolver{r: r, dirs: map[string]string{}}
	at := chartPlace{t: ch.tree, dir: ch.dir, name: ch.desc, helmPath: c.Name()}
	if err := d.resolve(ctx, c, at, 0); err != nil {
		return nil, err
	}
	return d.dirs, nil
}

func (d *depResolver) resolve(ctx context.Context, c *chart.Chart, at chartPlace, depth int) error {
	missing := missingDependencies(c)
	if len(missing) == 0 {
		return nil
	}
	_, lockName := lockFiles(c)
	lockFile := at.file(lockName)
	if depth >= maxDependencyDepth {
		return &Error{File: lockFile, Err: fmt.Errorf("chart %s: dependencies nest more than %d charts deep (a dependency cycle?)", at.name, maxDependencyDepth)}
	}
	locked, err := d.r.lockedDependencies(c, at, missing)
	if err != nil {
		return err
	}
	attached := map[string]bool{}
	for i, dep := range c.Metadata.Dependencies {
		if dep == nil || !isMissing(missing, dep) {
			continue
		}
		// Two aliases of one locked chart need it once: Helm copies it
		// per alias.
		l := locked[i]
		key := l.Name + "\x00" + l.Repository + "\x00" + l.Version
		if attached[key] {
			continue
		}
		attached[key] = true
		sub, subAt, err := d.fetch(ctx, at, dep, l, lockName)
		if err != nil {
			var re *Error
			if errors.As(err, &re) {
				return err
			}
			return &Error{File: lockFile, Err: err}
		}
		subAt.helmPath = at.helmPath + "/charts/" + sub.Name()
		d.dirs[subAt.helmPath] = ""
		if subAt.t != nil {
			d.dirs[subAt.helmPath] = subAt.t.rel(subAt.dir)
		}
		if err := d.resolve(ctx, sub, subAt, depth+1); err != nil {
			return err
		}
		c.AddDependency(sub)
	}
	return nil
}

// fetch loads the chart of a locked dependency.
func (d *depResolver) fetch(ctx context.Context, at chartPlace, dep, lock *chart.Dependency, lockName string) (*chart.Chart, chartPlace, error) {
	repo, version := lock.Repository, lock.Version
	what := fmt.Sprintf("chart %s: dependency %s (locked: repository %q, version %s)", at.name, dep.Name, repo, version)
	var (
		sub   *chart.Chart
		subAt chartPlace
	)
	switch {
	case repo == "":
		return nil, subAt, fmt.Errorf("%s: it has no repository, so it must be in charts/: run `helm dependency build` and commit charts/", what)
	case strings.HasPrefix(repo, "file://"):
		if at.t == nil {
			return nil, subAt, fmt.Errorf("%s: a file:// dependency can only be read for a chart in a repository directory", what)
		}
		rel := strings.TrimPrefix(repo, "file://")
		if strings.HasPrefix(rel, "/") {
			return nil, subAt, fmt.Errorf("%s: pipe reads file:// dependencies relative to the chart directory, within the repository, not absolute paths", what)
		}
		dir, err := at.t.resolve(at.dir, rel)
		if err != nil {
			return nil, subAt, fmt.Errorf("%s: %w", what, err)
		}
		if sub, err = loadChartDir(at.t, dir); err != nil {
			return nil, subAt, &Error{File: at.t.rel(dir), Err: fmt.Errorf("%s: load chart: %w", what, err)}
		}
		if err := satisfies(sub, version); err != nil {
			return nil, subAt, fmt.Errorf("%s: %s holds %w: run `helm dependency update %s` and commit %s", what, at.t.rel(dir), err, at.name, lockName)
		}
		subAt = chartPlace{t: at.t, dir: dir, name: at.t.rel(dir)}
	case strings.HasPrefix(repo, "https://"), strings.HasPrefix(repo, "http://"), strings.HasPrefix(repo, "oci://"),
		strings.HasPrefix(repo, "@"), strings.HasPrefix(repo, "alias:"):
		hc, err := d.r.repoChart(ctx, repo, dep.Name, version)
		if err != nil {
			return nil, subAt, fmt.Errorf("%s: %w", what, err)
		}
		sub, subAt = hc.chart, chartPlace{name: hc.desc}
	default:
		return nil, subAt, fmt.Errorf("%s: the repository is not file://, http(s)://, oci:// or a chart repository name (@name)", what)
	}
	if sub.Name() != dep.Name {
		return nil, subAt, fmt.Errorf("%s: %s holds chart %q, not %q", what, subAt.name, sub.Name(), dep.Name)
	}
	return sub, subAt, nil
}

// satisfies checks a chart's version against a locked version or
// constraint.
func satisfies(c *chart.Chart, version string) error {
	v, err := semver.NewVersion(c.Metadata.Version)
	if err != nil {
		return fmt.Errorf("chart %s version %q, not a semantic version", c.Name(), c.Metadata.Version)
	}
	cons, err := semver.NewConstraint(version)
	if err != nil {
		return fmt.Errorf("chart %s %s, and the locked version %q is not a version or constraint (%v)", c.Name(), v.Original(), version, err)
	}
	if !cons.Check(v) {
		return fmt.Errorf("chart %s %s, not %s", c.Name(), v.Original(), version)
	}
	return nil
}

// missingDependencies lists the dependencies of Chart.yaml that no chart of
// charts/ provides (by name, like Helm's install check).
func missingDependencies(c *chart.Chart) []*chart.Dependency {
	var missing []*chart.Dependency
outer:
	for _, d := range c.Metadata.Dependencies {
		if d == nil {
			continue
		}
		for _, sub := range c.Dependencies() {
			if sub.Name() == d.Name {
				continue outer
			}
		}
		missing = append(missing, d)
	}
	return missing
}

func isMissing(missing []*chart.Dependency, d *chart.Dependency) bool {
	for _, m := range missing {
		if m == d {
			return true
		}
	}
	return false
}
