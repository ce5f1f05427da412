package execute

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gitops-pipe/pipe/internal/analysis"
	"github.com/gitops-pipe/pipe/internal/analysis/provider"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
)

// AnalysisEnv is what ANALYSIS stages run with.
type AnalysisEnv struct {
	// Providers returns the analysis provider of .pipe/config.yaml named
	// name; nil when the repository configures none (a stage querying a
	// provider then fails, naming analysisProviders).
	Providers func(name string) (provider.Provider, error)
	// Templates is the spec of the repository's AnalysisTemplate (nil when
	// it has none).
	Templates *config.AnalysisTemplateSpec
	// Namespace is the query templates' {{ .K8s.Namespace }}.
	Namespace string
	// HTTPClient sends the HTTP checks (nil: http.DefaultClient).
	HTTPClient *http.Client
	// Previous returns the analysis of the stage stageID in the last
	// successful deployment of the app (nil, nil when there is none); the
	// PREVIOUS strategy compares with it.
	Previous func(ctx context.Context, stageID string) (*state.Analysis, error)
}

// analysis runs an ANALYSIS stage; its progress is the stage record's
// Analysis, checkpointed after every tick, so that a resumed deployment
// continues with the remaining duration.
func (e *Engine) analysis(ctx context.Context, st *Stage) error {
	o, ok := st.Options().(*config.AnalysisStageOptions)
	if !ok || o == nil {
		return errors.New("the ANALYSIS stage has no options: set with.duration and the metrics or https to check")
	}
	if st.Record.Analysis == nil {
		st.Record.Analysis = &state.Analysis{}
	}
	env := st.Deployment.Analysis
	r := &analysis.Runner{
		Options:    o,
		Templates:  env.Templates,
		Providers:  env.Providers,
		HTTPClient: env.HTTPClient,
		Namespace:  env.Namespace,
		// What the platform stages before it recorded.
		VariantVersions: VariantVersions(st.Deployment.Record),
		Progress:        st.Record.Analysis,
		Checkpoint:      st.Checkpoint,
		Emitf:           st.Emitf,
		Warnf:           st.Warnf,
	}
	if app := st.Deployment.App; app != nil {
		r.App = app.Name
	}
	if env.Previous != nil {
		id := st.Plan.ID
		r.Previous = func(ctx context.Context) (*state.Analysis, error) { return env.Previous(ctx, id) }
	}
	return r.Run(ctx)
}

// MetaVariantVersion prefixes the stage metadata keys through which a
// platform stage tells what a variant runs ("variantVersion.canary": "7",
// a Lambda version): ANALYSIS query templates read it as
// {{ .Variant.Version }}.
const MetaVariantVersion = "variantVersion."

// VariantVersions collects what the stages of a deployment recorded under
// MetaVariantVersion, a later stage's value winning.
func VariantVersions(rec *state.Record) map[string]string {
	out := map[string]string{}
	if rec == nil {
		return out
	}
	for _, s := range rec.Stages {
		for k, v := range s.Metadata {
			if name, ok := strings.CutPrefix(k, MetaVariantVersion); ok && name != "" && v != "" {
				out[name] = v
			}
		}
	}
	return out
}
