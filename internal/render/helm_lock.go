package render

import (
	"encoding/json"
	"fmt"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fetchcache"
)

// lockFiles names a chart's dependencies file and lock file: Chart.yaml
// and Chart.lock, or requirements.yaml and requirements.lock for
// apiVersion v1.
func lockFiles(c *chart.Chart) (deps, lock string) {
	if c.Metadata.APIVersion == chart.APIVersionV1 {
		return "requirements.yaml", "requirements.lock"
	}
	return "Chart.yaml", "Chart.lock"
}

// lockedDependencies returns the entry of the chart's lock file for each
// of its Chart.yaml dependencies (by index), after checking that the lock
// is in sync with them like `helm dependency build` does.
func (r *Renderer) lockedDependencies(c *chart.Chart, at chartPlace, missing []*chart.Dependency) ([]*chart.Dependency, error) {
	depsFile, lockName := lockFiles(c)
	names := make([]string, len(missing))
	for i, m := range missing {
		names[i] = m.Name
	}
	update := fmt.Sprintf("run `helm dependency update %s` and commit %s (pipe downloads the locked versions), or commit the charts in charts/", at.name, lockName)
	if c.Lock == nil {
		what := "dependency " + names[0] + " is"
		if len(names) > 1 {
			what = "dependencies " + strings.Join(names, ", ") + " are"
		}
		return nil, &Error{File: at.file(depsFile), Err: fmt.Errorf("chart %s: %s missing in charts/ and the chart has no %s: %s",
			at.name, what, lockName, update)}
	}
	outOfSync := &Error{File: at.file(lockName), Err: fmt.Errorf("chart %s: %s is out of sync with the dependencies of %s (its digest does not match them): %s",
		at.name, lockName, depsFile, update)}
	v2sum := ""
	if c.Metadata.APIVersion == chart.APIVersionV1 {
		b, err := json.Marshal(map[string][]*chart.Dependency{"dependencies": c.Metadata.Dependencies})
		if err != nil {
			return nil, err
		}
		v2sum = fetchcache.Digest(b)
	}
	req, err := r.lockRequirements(c.Metadata.Dependencies, at.file(depsFile))
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal([2][]*chart.Dependency{req, c.Lock.Dependencies})
	if err != nil {
		return nil, err
	}
	if sum := fetchcache.Digest(b); sum != c.Lock.Digest && (v2sum == "" || v2sum != c.Lock.Digest) {
		return nil, outOfSync
	}
	locked := c.Lock.Dependencies
	if len(locked) != len(c.Metadata.Dependencies) {
		return nil, outOfSync
	}
	for i, l := range locked {
		if l == nil || l.Name != c.Metadata.Dependencies[i].Name {
			return nil, outOfSync
		}
	}
	return locked, nil
}

// lockRequirements returns the dependencies as `helm dependency update`
// hashes them: a repository given by name (@name, alias:name) replaced by
// the URL of the chart repository of that name.
func (r *Renderer) lockRequirements(deps []*chart.Dependency, file string) ([]*chart.Dependency, error) {
	out := make([]*chart.Dependency, len(deps))
	for i, d := range deps {
		if d == nil {
			continue
		}
		cp := *d
		if name, byName := repoRefName(d.Repository); byName {
			cr := r.chartRepoNamed(name)
			if cr == nil {
				return nil, &Error{File: file, Err: fmt.Errorf("dependency %s: repository %s is not a configured chart repository: add %q to chartRepositories in %s, with the URL `helm repo add` gave it", d.Name, d.Repository, name, config.RepoConfigFile)}
			}
			cp.Repository = cr.URL
		}
		out[i] = &cp
	}
	return out, nil
}

// repoRefName returns the repository name of a reference by name, as
// Chart.yaml and Chart.lock write it ("@name" or "alias:name"), and
// whether it is one; else the reference as it is.
func repoRefName(repository string) (string, bool) {
	if name, ok := strings.CutPrefix(repository, "@"); ok {
		return name, true
	}
	return strings.CutPrefix(repository, "alias:")
}

// isRepoRef reports whether a repository is a reference by name.
func isRepoRef(repository string) bool {
	_, ok := repoRefName(repository)
	return ok
}

// chartRepoNamed returns the configured chart repository of that name.
func (r *Renderer) chartRepoNamed(name string) *ChartRepo {
	for i := range r.ChartRepos {
		if r.ChartRepos[i].Name == name {
			return &r.ChartRepos[i]
		}
	}
	return nil
}
