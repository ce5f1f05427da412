package config

import "strings"

// sharedContext builds what application checks need to know from the shared
// files: analysis providers (from .pipe/config.yaml) and analysis template
// names (from .pipe/ AnalysisTemplate files). A shared file that could not
// be decoded leaves the matching references unchecked rather than making
// every application that uses them fail too.
func (r *Repo) sharedContext() CheckContext {
	ctx := CheckContext{RepoRoot: r.Root}
	for _, f := range r.Files {
		if !strings.HasPrefix(f.Path, SharedDir+"/") || f.Spec == nil {
			continue
		}
		switch spec := f.Spec.(type) {
		case *PipeSpec:
			if f.Path == RepoConfigFile {
				ctx.AnalysisProviders = spec.AnalysisProviderTypes()
			}
		case *AnalysisTemplateSpec:
			if ctx.AnalysisTemplates == nil {
				ctx.AnalysisTemplates = map[string]map[string]bool{"metrics": {}, "logs": {}, "https": {}}
			}
			for name := range spec.Metrics {
				ctx.AnalysisTemplates["metrics"][name] = true
			}
			for name := range spec.Logs {
				ctx.AnalysisTemplates["logs"][name] = true
			}
			for name := range spec.HTTPS {
				ctx.AnalysisTemplates["https"][name] = true
			}
		}
	}
	return ctx
}

// AnalysisTemplates merges the .pipe/ AnalysisTemplate files into one spec
// (a later file's template of the same name wins, files in path order);
// nil when the repository has none.
func (r *Repo) AnalysisTemplates() *AnalysisTemplateSpec {
	var out *AnalysisTemplateSpec
	for _, f := range r.Files {
		spec, ok := f.Spec.(*AnalysisTemplateSpec)
		if !ok || !strings.HasPrefix(f.Path, SharedDir+"/") {
			continue
		}
		if out == nil {
			out = &AnalysisTemplateSpec{Metrics: map[string]AnalysisMetrics{}, Logs: map[string]AnalysisLog{}, HTTPS: map[string]AnalysisHTTP{}}
		}
		for k, v := range spec.Metrics {
			out.Metrics[k] = v
		}
		for k, v := range spec.Logs {
			out.Logs[k] = v
		}
		for k, v := range spec.HTTPS {
			out.HTTPS[k] = v
		}
	}
	return out
}
