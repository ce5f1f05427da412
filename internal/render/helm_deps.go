package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// maxDependencyDepth bounds how deep charts' dependencies may nest.
const maxDependencyDepth = 8

// maxDependencyCharts bounds the charts that resolving dependencies
// attaches in one render, counting each use of a chart with the charts
// below it: Helm renders every one, and a few file:// charts that each
// depend on all of the next few make a tree of millions.
const maxDependencyCharts = 256

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
	// loaded holds each dependency chart loaded in this render, by
	// depKey, with its own dependencies attached: a chart that many
	// charts depend on is loaded and resolved once, and attached as
	// copies.
	loaded map[string]*loadedDep
	// resolving lists the charts being resolved, outermost first, by
	// depKey and name: a dependency among them is a cycle.
	resolving []string
	names     []string
}

// loadedDep is a dependency chart with its dependencies resolved.
type loadedDep struct {
	// chart is never attached itself: clones of it are.
	chart *chart.Chart
	place chartPlace
	// dirs maps the Helm paths below the chart ("charts/sub") to their
	// directories, as depResolver.dirs.
	dirs map[string]string
	// size counts the charts of its tree, itself included.
	size int
	// nest is how many levels of dependencies below it were resolved
	// (0: its own only), or -1 when it lacked none.
	nest int
}

// resolveDependencies attaches to c (a copy of ch's chart) the charts of
// the Chart.yaml dependencies that charts/ does not hold, as `helm
// dependency build` would download them: the versions of Chart.lock
// (requirements.lock for apiVersion v1), which must be in sync with
// Chart.yaml. A file:// dependency is read from the chart's directory,
// within the repository; the others are downloaded (repoChart). The
// dependencies of attached charts are resolved in turn, at most
// maxDependencyDepth deep and maxDependencyCharts in all; each is loaded
// once per render however many charts depend on it, and a cycle is an
// error naming it. Charts that charts/ holds are left as they are, like
// Helm does.
func (r *Renderer) resolveDependencies(ctx context.Context, ch *helmChart, c *chart.Chart) (map[string]string, error) {
	d := &depResolver{r: r, dirs: map[string]string{}, loaded: map[string]*loadedDep{}}
	at := chartPlace{t: ch.tree, dir: ch.dir, name: ch.desc, helmPath: c.Name()}
	if ch.tree != nil {
		d.resolving, d.names = []string{"file\x00" + ch.dir}, []string{ch.tree.rel(ch.dir)}
	}
	if _, err := d.resolve(ctx, c, at, 0); err != nil {
		return nil, err
	}
	return d.dirs, nil
}

// resolve attaches the missing dependencies of c, at depth, and returns
// how many levels of dependencies it resolved below c (-1: none lacked).
func (d *depResolver) resolve(ctx context.Context, c *chart.Chart, at chartPlace, depth int) (int, error) {
	missing := missingDependencies(c)
	if len(missing) == 0 {
		return -1, nil
	}
	_, lockName := lockFiles(c)
	lockFile := at.file(lockName)
	tooDeep := &Error{File: lockFile, Err: fmt.Errorf("chart %s: dependencies nest more than %d charts deep: Helm renders every nested chart; vendor flatter dependencies", at.name, maxDependencyDepth)}
	if depth >= maxDependencyDepth {
		return 0, tooDeep
	}
	locked, err := d.r.lockedDependencies(c, at, missing)
	if err != nil {
		return 0, err
	}
	attached := map[string]bool{}
	nest, size := 0, 0
	for i, dep := range c.Metadata.Dependencies {
		if dep == nil || !slices.Contains(missing, dep) {
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
		ld, err := d.dependency(ctx, at, dep, l, lockName, depth+1)
		if err != nil {
			var re *Error
			if errors.As(err, &re) {
				return 0, err
			}
			return 0, &Error{File: lockFile, Err: err}
		}
		if ld.nest >= 0 && depth+1+ld.nest >= maxDependencyDepth {
			return 0, tooDeep
		}
		if size += ld.size; size > maxDependencyCharts {
			return 0, &Error{File: lockFile, Err: fmt.Errorf("chart %s: its dependencies attach more than %d charts (each use of a chart counts, with the charts below it), and Helm renders every one: vendor fewer or flatter dependencies",
				at.name, maxDependencyCharts)}
		}
		sub := cloneChart(ld.chart)
		helmPath := at.helmPath + "/charts/" + sub.Name()
		d.dirs[helmPath] = ""
		if ld.place.t != nil {
			d.dirs[helmPath] = ld.place.t.rel(ld.place.dir)
		}
		for p, dir := range ld.dirs {
			d.dirs[helmPath+"/"+p] = dir
		}
		c.AddDependency(sub)
		nest = max(nest, ld.nest+1)
	}
	return nest, nil
}

// dependency returns the chart of a locked dependency of the chart at at,
// with its own dependencies attached: loaded now, or earlier in this
// render.
func (d *depResolver) dependency(ctx context.Context, at chartPlace, dep, lock *chart.Dependency, lockName string, depth int) (*loadedDep, error) {
	what := fmt.Sprintf("chart %s: dependency %s (locked: repository %q, version %s)", at.name, dep.Name, lock.Repository, lock.Version)
	key, dir, err := depKey(at, dep, lock, what)
	if err != nil {
		return nil, err
	}
	check := func(c *chart.Chart, place chartPlace) error {
		if dir != "" {
			if err := satisfies(c, lock.Version); err != nil {
				return fmt.Errorf("%s: %s holds %w: run `helm dependency update %s` and commit %s", what, place.name, err, at.name, lockName)
			}
		}
		if c.Name() != dep.Name {
			return fmt.Errorf("%s: %s holds chart %q, not %q", what, place.name, c.Name(), dep.Name)
		}
		return nil
	}
	if ld := d.loaded[key]; ld != nil {
		return ld, check(ld.chart, ld.place)
	}
	if i := slices.Index(d.resolving, key); i >= 0 {
		return nil, fmt.Errorf("%s: the dependencies form a cycle: %s → %s", what, strings.Join(d.names[i:], " → "), d.names[i])
	}
	c, place, err := d.load(ctx, at, dep, lock, dir, what)
	if err != nil {
		return nil, err
	}
	if err := check(c, place); err != nil {
		return nil, err
	}
	place.helmPath = at.helmPath + "/charts/" + c.Name()
	// Its dependencies are resolved with Helm paths relative to it.
	outer := d.dirs
	d.dirs = map[string]string{}
	d.resolving, d.names = append(d.resolving, key), append(d.names, place.name)
	nest, err := d.resolve(ctx, c, place, depth)
	d.resolving, d.names = d.resolving[:len(d.resolving)-1], d.names[:len(d.names)-1]
	inner := d.dirs
	d.dirs = outer
	if err != nil {
		return nil, err
	}
	ld := &loadedDep{chart: c, place: place, dirs: make(map[string]string, len(inner)), size: countCharts(c), nest: nest}
	for p, dir := range inner {
		ld.dirs[strings.TrimPrefix(p, place.helmPath+"/")] = dir
	}
	d.loaded[key] = ld
	return ld, nil
}

// depKey identifies the chart of a locked dependency in one render: its
// directory for file://, else its repository, name and version; dir is
// the directory of a file:// dependency.
func depKey(at chartPlace, dep, lock *chart.Dependency, what string) (key, dir string, err error) {
	repo := lock.Repository
	switch {
	case repo == "":
		return "", "", fmt.Errorf("%s: it has no repository, so it must be in charts/: run `helm dependency build` and commit charts/", what)
	case strings.HasPrefix(repo, "file://"):
		if at.t == nil {
			return "", "", fmt.Errorf("%s: a file:// dependency can only be read for a chart in a repository directory", what)
		}
		rel := strings.TrimPrefix(repo, "file://")
		if strings.HasPrefix(rel, "/") {
			return "", "", fmt.Errorf("%s: pipe reads file:// dependencies relative to the chart directory, within the repository, not absolute paths", what)
		}
		if dir, err = at.t.resolve(at.dir, rel); err != nil {
			return "", "", fmt.Errorf("%s: %w", what, err)
		}
		return "file\x00" + dir, dir, nil
	case strings.HasPrefix(repo, "https://"), strings.HasPrefix(repo, "http://"), strings.HasPrefix(repo, "oci://"), isRepoRef(repo):
		return "repo\x00" + repo + "\x00" + dep.Name + "\x00" + lock.Version, "", nil
	}
	return "", "", fmt.Errorf("%s: the repository is not file://, http(s)://, oci:// or a chart repository name (@name)", what)
}

// load loads the chart of a locked dependency: from dir for file://, else
// downloaded.
func (d *depResolver) load(ctx context.Context, at chartPlace, dep, lock *chart.Dependency, dir, what string) (*chart.Chart, chartPlace, error) {
	if dir != "" {
		c, err := loadChartDir(at.t, dir)
		if err != nil {
			return nil, chartPlace{}, &Error{File: at.t.rel(dir), Err: fmt.Errorf("%s: load chart: %w", what, err)}
		}
		return c, chartPlace{t: at.t, dir: dir, name: at.t.rel(dir)}, nil
	}
	hc, err := d.r.repoChart(ctx, lock.Repository, dep.Name, lock.Version)
	if err != nil {
		return nil, chartPlace{}, fmt.Errorf("%s: %w", what, err)
	}
	return hc.chart, chartPlace{name: hc.desc}, nil
}

// countCharts counts the charts of c's tree, c included.
func countCharts(c *chart.Chart) int {
	n := 1
	for _, sub := range c.Dependencies() {
		n += countCharts(sub)
	}
	return n
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
