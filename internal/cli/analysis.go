package cli

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gitops-pipe/pipe/internal/analysis/provider"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
)

// analysisEnv is what the ANALYSIS stages of a sync query: the analysis
// providers of .pipe/config.yaml (each built once, on first use, with its
// credentials read from the environment or files it names) and the
// repository's AnalysisTemplate.
func (a *app) analysisEnv(repo *config.Repo) execute.AnalysisEnv {
	env := execute.AnalysisEnv{Templates: repo.AnalysisTemplates()}
	var mu sync.Mutex
	built := map[string]provider.Provider{}
	env.Providers = func(name string) (provider.Provider, error) {
		mu.Lock()
		defer mu.Unlock()
		if p, ok := built[name]; ok {
			return p, nil
		}
		if repo.Config == nil {
			return nil, fmt.Errorf("analysis provider %q: the repository has no %s; configure it under spec.analysisProviders", name, config.RepoConfigFile)
		}
		cfg, ok := repo.Config.AnalysisProvider(name)
		if !ok {
			var names []string
			for _, p := range repo.Config.AnalysisProviders {
				names = append(names, p.Name)
			}
			return nil, fmt.Errorf("analysis provider %q is not configured in %s (analysisProviders: %s)", name, config.RepoConfigFile, strings.Join(names, ", "))
		}
		p, err := provider.New(cfg, provider.Options{
			Getenv: a.env.Getenv,
			OnWarning: func(query, warning string) {
				fmt.Fprintf(a.err, "%s analysis provider %s: %s\n", a.style.Yellow("warning:"), name, warning)
			},
		})
		if err != nil {
			return nil, err
		}
		built[name] = p
		return p, nil
	}
	return env
}
