package analysis

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Args are what query, URL and header templates refer to, as in PipeCD:
// {{ .App.Name }}, {{ .K8s.Namespace }}, {{ .Variant.Name }},
// {{ .Variant.Version }} (the version a variant runs, as the platform's
// stages of the deployment recorded it, e.g. a Lambda version number),
// {{ .VariantCustomArgs.KEY }} and {{ .AppCustomArgs.KEY }}. A key that is
// not defined is an error.
type Args struct {
	App               AppArgs
	K8s               K8sArgs
	Variant           VariantArgs
	VariantCustomArgs map[string]string
	AppCustomArgs     map[string]string
}

// AppArgs are the application's template arguments.
type AppArgs struct{ Name string }

// K8sArgs are the Kubernetes template arguments.
type K8sArgs struct{ Namespace string }

// VariantArgs name the variant a query is for: "canary", "baseline" or
// "primary" for the canary strategies, empty otherwise.
type VariantArgs struct {
	Name string
	// Version is what the variant runs, as recorded by the deployment's
	// platform stages (Runner.VariantVersions); empty when unknown.
	Version string
}

// Render executes text as a Go template over args; a key missing from a
// map is an error.
func Render(name, text string, args Args) (string, error) {
	if args.VariantCustomArgs == nil {
		args.VariantCustomArgs = map[string]string{}
	}
	if args.AppCustomArgs == nil {
		args.AppCustomArgs = map[string]string{}
	}
	t, err := parseTemplate(name, text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, args); err != nil {
		return "", err
	}
	return b.String(), nil
}

// maxParsedTemplates bounds the cache of parsed templates.
const maxParsedTemplates = 256

// parsed caches parsed templates by name and text: parsing costs several
// times executing, and the same queries are rendered again (the analyzers
// of every ANALYSIS stage, at every resumption). A parsed template is safe
// to execute concurrently.
var parsed struct {
	sync.Mutex
	m map[[2]string]*template.Template
}

func parseTemplate(name, text string) (*template.Template, error) {
	key := [2]string{name, text}
	parsed.Lock()
	t := parsed.m[key]
	parsed.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	parsed.Lock()
	if parsed.m == nil || len(parsed.m) >= maxParsedTemplates {
		parsed.m = make(map[[2]string]*template.Template)
	}
	parsed.m[key] = t
	parsed.Unlock()
	return t, nil
}

// build resolves the templates, renders the queries and looks the
// providers up: every configuration error is reported before anything runs.
func (r *Runner) build(ctx context.Context) ([]*analyzer, error) {
	o := r.Options
	duration := o.Duration.Std()
	var out []*analyzer
	needPrevious := false
	for i, m := range o.Metrics {
		z, err := r.buildMetric(i, m, duration)
		if err != nil {
			return nil, err
		}
		needPrevious = needPrevious || z.rec.Strategy == config.AnalysisStrategyPrevious
		out = append(out, z)
	}
	for i, h := range o.HTTPS {
		z, err := r.buildHTTP(i, h, duration)
		if err != nil {
			return nil, err
		}
		out = append(out, z)
	}
	if needPrevious {
		if r.Previous == nil {
			return nil, fmt.Errorf("the PREVIOUS strategy needs the deployment history, which this run of pipe does not have")
		}
		prev, err := r.Previous(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the analysis of the last successful deployment (for the PREVIOUS strategy): %w", err)
		}
		r.prev = prev
	}
	return out, nil
}

func (r *Runner) baseArgs(appArgs map[string]string) Args {
	a := Args{App: AppArgs{Name: r.App}, K8s: K8sArgs{Namespace: r.Namespace}, AppCustomArgs: map[string]string{}}
	for k, v := range appArgs {
		a.AppCustomArgs[k] = v
	}
	return a
}

func (r *Runner) buildMetric(i int, m config.TemplatableAnalysisMetrics, duration time.Duration) (*analyzer, error) {
	name := fmt.Sprintf("metrics[%d]", i)
	where := "with." + name
	cfg := m.AnalysisMetrics
	label := ""
	if m.Template.Name != "" {
		t, err := r.metricTemplate(name, m.Template.Name)
		if err != nil {
			return nil, err
		}
		cfg, label = t, m.Template.Name
		where = fmt.Sprintf("%s (template %q of the AnalysisTemplate)", name, label)
	}
	if cfg.Strategy == "" {
		cfg.Strategy = config.AnalysisStrategyThreshold
	}
	if cfg.Deviation == "" {
		cfg.Deviation = config.AnalysisDeviationEither
	}
	z := &analyzer{metric: &cfg, interval: cfg.Interval.Std(), timeout: cfg.Timeout.Std(),
		failureLimit: max(cfg.FailureLimit, 0), skipOnNoData: cfg.SkipOnNoData}
	z.rec = state.AnalysisAnalyzer{Name: name, Label: label, Kind: KindMetrics, Strategy: cfg.Strategy, Provider: cfg.Provider,
		Interval: state.Millis(z.interval), FailureLimit: z.failureLimit}
	if z.timeout <= 0 {
		z.timeout = DefaultTimeout
	}
	if err := checkInterval(where, z.interval, duration); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Query) == "" {
		return nil, fmt.Errorf("%s has no query: set `query`", where)
	}
	if cfg.Expected != nil {
		z.rec.Expected = cfg.Expected.String()
	}
	args := r.baseArgs(m.Template.AppArgs)
	var err error
	switch cfg.Strategy {
	case config.AnalysisStrategyThreshold, config.AnalysisStrategyPrevious:
		if cfg.Strategy == config.AnalysisStrategyThreshold && cfg.Expected == nil {
			return nil, fmt.Errorf("%s: the THRESHOLD strategy needs `expected` (e.g. `expected: {max: 0.05}`)", where)
		}
		z.ctrlName = "previous deployment"
		if z.query, err = Render(name, cfg.Query, args); err != nil {
			return nil, renderError(where, "query", err)
		}
	case config.AnalysisStrategyCanaryBaseline, config.AnalysisStrategyCanaryPrimary:
		args.Variant.Name, args.VariantCustomArgs = "canary", cfg.CanaryArgs
		args.Variant.Version = r.VariantVersions["canary"]
		if z.query, err = Render(name, cfg.Query, args); err != nil {
			return nil, renderError(where, "canary query (canaryArgs)", err)
		}
		z.ctrlName, args.VariantCustomArgs = "baseline", cfg.BaselineArgs
		if cfg.Strategy == config.AnalysisStrategyCanaryPrimary {
			z.ctrlName, args.VariantCustomArgs = "primary", cfg.PrimaryArgs
		}
		args.Variant.Name = z.ctrlName
		args.Variant.Version = r.VariantVersions[z.ctrlName]
		if z.control, err = Render(name, cfg.Query, args); err != nil {
			return nil, renderError(where, z.ctrlName+" query ("+z.ctrlName+"Args)", err)
		}
	default:
		return nil, fmt.Errorf("%s: unknown strategy %q: use THRESHOLD, PREVIOUS, CANARY_BASELINE or CANARY_PRIMARY", where, cfg.Strategy)
	}
	z.rec.Query, z.rec.ControlQuery = z.query, z.control
	switch cfg.Deviation {
	case config.AnalysisDeviationEither, config.AnalysisDeviationHigh, config.AnalysisDeviationLow:
	default:
		return nil, fmt.Errorf("%s: unknown deviation %q: use EITHER, HIGH or LOW", where, cfg.Deviation)
	}
	if cfg.Provider == "" {
		return nil, fmt.Errorf("%s has no provider: name an analysis provider of .pipe/config.yaml", where)
	}
	if r.Providers == nil {
		return nil, fmt.Errorf("%s queries analysis provider %q, but no analysis provider is configured: add it to analysisProviders in .pipe/config.yaml", where, cfg.Provider)
	}
	p, err := r.Providers(cfg.Provider)
	if err != nil {
		return nil, fmt.Errorf("%s: analysis provider %q: %w", where, cfg.Provider, err)
	}
	if p == nil {
		return nil, fmt.Errorf("%s: analysis provider %q is not configured: add it to analysisProviders in .pipe/config.yaml", where, cfg.Provider)
	}
	z.prov = p
	return z, nil
}

func (r *Runner) buildHTTP(i int, h config.TemplatableAnalysisHTTP, duration time.Duration) (*analyzer, error) {
	name := fmt.Sprintf("https[%d]", i)
	where := "with." + name
	cfg := h.AnalysisHTTP
	label := ""
	if h.Template.Name != "" {
		if r.Templates == nil {
			return nil, noTemplates(name, h.Template.Name)
		}
		t, ok := r.Templates.HTTPS[h.Template.Name]
		if !ok {
			return nil, unknownTemplate(name, "https", h.Template.Name, keys(r.Templates.HTTPS))
		}
		cfg, label = t, h.Template.Name
		where = fmt.Sprintf("%s (template %q of the AnalysisTemplate)", name, label)
	}
	if cfg.Method == "" {
		cfg.Method = "GET"
	}
	if cfg.ExpectedResponseMatch == "" {
		cfg.ExpectedResponseMatch = config.ResponseMatchExact
	}
	z := &analyzer{interval: cfg.Interval.Std(), timeout: cfg.Timeout.Std(), failureLimit: max(cfg.FailureLimit, 0), skipOnNoData: cfg.SkipOnNoData}
	if z.timeout <= 0 {
		z.timeout = DefaultTimeout
		cfg.Timeout = config.Duration(DefaultTimeout)
	}
	if err := checkInterval(where, z.interval, duration); err != nil {
		return nil, err
	}
	args := r.baseArgs(h.Template.AppArgs)
	var err error
	if cfg.URL, err = Render(name, cfg.URL, args); err != nil {
		return nil, renderError(where, "url", err)
	}
	if u, perr := url.Parse(cfg.URL); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: the url %q is not an absolute http:// or https:// URL once rendered", where, redact.Endpoint(cfg.URL))
	}
	headers := make([]config.AnalysisHTTPHeader, len(cfg.Headers))
	for j, hd := range cfg.Headers {
		headers[j] = hd
		if headers[j].Value, err = Render(name, hd.Value, args); err != nil {
			return nil, renderError(where, fmt.Sprintf("headers[%d] (%s)", j, hd.Key), err)
		}
	}
	cfg.Headers = headers
	z.check = &cfg
	z.rec = state.AnalysisAnalyzer{Name: name, Label: label, Kind: KindHTTP, Query: cfg.Method + " " + redact.Endpoint(cfg.URL),
		Interval: state.Millis(z.interval), FailureLimit: z.failureLimit}
	if cfg.ExpectedCode != 0 {
		z.rec.Expected = fmt.Sprintf("code %d", cfg.ExpectedCode)
	}
	if cfg.ExpectedResponse != "" {
		if z.rec.Expected != "" {
			z.rec.Expected += ", "
		}
		z.rec.Expected += "body " + strings.ToLower(cfg.ExpectedResponseMatch) + " " + clip(fmt.Sprintf("%q", cfg.ExpectedResponse), 60)
	}
	return z, nil
}

func (r *Runner) metricTemplate(name, tmpl string) (config.AnalysisMetrics, error) {
	if r.Templates == nil {
		return config.AnalysisMetrics{}, noTemplates(name, tmpl)
	}
	t, ok := r.Templates.Metrics[tmpl]
	if !ok {
		return config.AnalysisMetrics{}, unknownTemplate(name, "metrics", tmpl, keys(r.Templates.Metrics))
	}
	return t, nil
}

func noTemplates(name, tmpl string) error {
	return fmt.Errorf("with.%s refers to analysis template %q, but the repository has no AnalysisTemplate: define it in a file of .pipe/ (kind: AnalysisTemplate)", name, tmpl)
}

func unknownTemplate(name, section, tmpl string, known []string) error {
	hint := "the AnalysisTemplate defines no " + section + " templates"
	if len(known) > 0 {
		hint = "it defines: " + strings.Join(known, ", ")
	}
	return fmt.Errorf("with.%s refers to analysis template %q, which spec.%s of the AnalysisTemplate does not define (%s)", name, tmpl, section, hint)
}

func renderError(where, what string, err error) error {
	hint := "the variables are .App.Name, .K8s.Namespace, .Variant.Name, .Variant.Version, .VariantCustomArgs.KEY (canaryArgs, baselineArgs, primaryArgs) and .AppCustomArgs.KEY (template.appArgs)"
	if strings.Contains(err.Error(), "map has no entry for key") {
		hint = "define the key: .AppCustomArgs come from template.appArgs, .VariantCustomArgs from canaryArgs, baselineArgs or primaryArgs (only the canary strategies have variants)"
	}
	return fmt.Errorf("%s: render the %s: %v; %s", where, what, err, hint)
}

func checkInterval(where string, interval, duration time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("%s has no interval: set `interval` (e.g. \"1m\")", where)
	}
	if interval >= duration {
		return fmt.Errorf("%s: its interval %s is not shorter than the analysis duration %s, so it would never run (the first check is one interval after the start): shorten the interval or lengthen with.duration", where, interval, duration)
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
