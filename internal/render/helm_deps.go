package render

import (
	"fmt"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"
)

// maxDependencyDepth bounds how deep charts' dependencies may nest.
const maxDependencyDepth = 8

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

// checkDependencies fails when a dependency of Chart.yaml is not in charts/.
func checkDependencies(ch *helmChart) error {
	missing := missingDependencies(ch.chart)
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, len(missing))
	for i, d := range missing {
		names[i] = d.Name
	}
	return fmt.Errorf("chart %s: found in Chart.yaml, but missing in charts/ directory: %s (pipe does not download dependencies: run `helm dependency build` and commit charts/)", ch.desc, strings.Join(names, ", "))
}
