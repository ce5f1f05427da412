package config

import (
	"strings"
	"testing"
	"time"
)

// analysisDoc is a KubernetesApp whose only stage is an ANALYSIS with the
// given `with` body (indented as under with:).
func analysisDoc(with string) string {
	return k8sAppDoc("  pipeline:\n    stages:\n      - name: ANALYSIS\n        with:\n" + with)
}

func TestAnalysisDefaults(t *testing.T) {
	doc := analysisDoc(`          duration: 10m
          metrics:
            - provider: prom
              query: up
              interval: 1m
              expected: {max: 0.01}
          logs:
            - provider: stackdriver
              query: severity=ERROR
              interval: 1m
          https:
            - url: https://canary.example.com/healthz
              expectedCode: 200
              interval: 1m
`)
	f, ds := checkAppDoc(t, doc, CheckContext{AnalysisProviders: map[string]string{"prom": "PROMETHEUS", "stackdriver": "STACKDRIVER"}})
	assertClean(t, ds)
	a := f.Spec.(*KubernetesApplicationSpec).Pipeline.Stages[0].With.(*AnalysisStageOptions)
	m := a.Metrics[0]
	if m.Timeout.Std() != 30*time.Second || m.Strategy != AnalysisStrategyThreshold || m.Deviation != AnalysisDeviationEither || m.FailureLimit != 0 {
		t.Errorf("metric defaults = %+v", m.AnalysisMetrics)
	}
	if !m.Expected.InRange(0.01) || m.Expected.InRange(0.02) {
		t.Errorf("expected range %s", m.Expected)
	}
	if l := a.Logs[0]; l.Timeout.Std() != 30*time.Second {
		t.Errorf("log timeout = %s", l.Timeout)
	}
	if h := a.HTTPS[0]; h.Method != "GET" || h.ExpectedResponseMatch != ResponseMatchExact || h.Timeout.Std() != 30*time.Second {
		t.Errorf("http defaults = %+v", h.AnalysisHTTP)
	}
}

func TestAnalysisTemplates(t *testing.T) {
	tmpl := `apiVersion: pipecd.dev/v1beta1
kind: AnalysisTemplate
spec:
  metrics:
    error_rate:
      provider: prom
      query: sum(rate(errors[5m]))
      interval: 5m
      expected: {max: 0}
  https:
    health:
      url: "https://{{ .App.Name }}.example.com"
      expectedCode: 200
      interval: 1m
`
	f, ds := checkAppDoc(t, tmpl, CheckContext{})
	assertClean(t, ds)
	names := f.Spec.(*AnalysisTemplateSpec).TemplateNames()
	if !names["metrics"]["error_rate"] || !names["https"]["health"] || len(names["logs"]) != 0 {
		t.Fatalf("template names = %v", names)
	}
	ctx := CheckContext{AnalysisTemplates: names, AnalysisProviders: map[string]string{"prom": "PROMETHEUS"}}
	doc := analysisDoc(`          duration: 10m
          metrics:
            - template:
                name: error_rate
                appArgs: {job: web}
          https:
            - template: {name: health}
`)
	_, ds = checkAppDoc(t, doc, ctx)
	assertClean(t, ds)

	runDiagCases(t, []diagCase{
		{
			name: "template not defined",
			doc:  analysisDoc("          duration: 10m\n          metrics:\n            - template: {name: error_rates}\n"),
			ctx:  ctx, path: "spec.pipeline.stages[0].with.metrics[0].template.name", marker: "error_rates",
			msg: `analysis template "error_rates" is not defined`, hint: `did you mean "error_rate"?`,
		},
		{
			name: "no template in the section",
			doc:  analysisDoc("          duration: 10m\n          logs:\n            - template: {name: error_rate}\n"),
			ctx:  ctx, path: "spec.pipeline.stages[0].with.logs[0].template.name", marker: "error_rate",
			msg: "not defined in spec.logs", hint: "defines no logs templates",
		},
		{
			name: "inline field beside a template",
			doc:  analysisDoc("          duration: 10m\n          metrics:\n            - template: {name: error_rate}\n              interval: 1m\n"),
			ctx:  ctx, path: "spec.pipeline.stages[0].with.metrics[0].interval", marker: "interval", sev: SeverityWarning,
			msg: "is ignored",
		},
		{
			name: "template metric checked in the template file",
			doc:  "apiVersion: pipecd.dev/v1beta1\nkind: AnalysisTemplate\nspec:\n  metrics:\n    bad:\n      provider: prom\n      interval: 1m\n      expected: {max: 1}\n",
			path: "spec.metrics.bad.query", marker: "provider: prom", // a map entry is placed at its value
			msg: "missing `query`",
		},
	})
}

func TestAnalysisDiagnostics(t *testing.T) {
	providers := CheckContext{AnalysisProviders: map[string]string{"my-prometheus": "PROMETHEUS", "datadog": "DATADOG"}}
	metric := func(extra string) string {
		return analysisDoc("          duration: 10m\n          metrics:\n            - provider: my-prometheus\n              query: up\n              interval: 1m\n" + extra)
	}
	runDiagCases(t, []diagCase{
		{
			name: "threshold is not an option",
			doc:  analysisDoc("          duration: 10m\n          threshold: 2\n"),
			path: "spec.pipeline.stages[0].with.threshold", marker: "threshold",
			msg: "unknown field `threshold`", hint: "set `failureLimit` on each metric / http check",
		},
		{
			name: "missing duration",
			doc:  analysisDoc("          metrics: []\n"),
			path: "spec.pipeline.stages[0].with.duration", marker: "with:",
			msg: "ANALYSIS needs `duration`",
		},
		{
			name: "analysis without with",
			doc:  k8sAppDoc("  pipeline:\n    stages:\n      - name: ANALYSIS\n"),
			path: "spec.pipeline.stages[0].with", marker: "ANALYSIS",
			msg: "needs options under `with:`",
		},
		{
			name: "provider not configured",
			doc:  analysisDoc("          duration: 10m\n          metrics:\n            - provider: my-promethues\n              query: up\n              interval: 1m\n              expected: {max: 1}\n"),
			ctx:  providers, path: "spec.pipeline.stages[0].with.metrics[0].provider", marker: "my-promethues",
			msg: `analysis provider "my-promethues" is not configured`, hint: `did you mean "my-prometheus"? configured in .pipe/config.yaml: datadog, my-prometheus`,
		},
		{
			name: "threshold without expected",
			doc:  metric(""),
			ctx:  providers, path: "spec.pipeline.stages[0].with.metrics[0].expected", marker: "- provider",
			msg: "THRESHOLD strategy needs `expected`",
		},
		{
			name: "empty expected range",
			doc:  metric("              expected: {min: 2, max: 1}\n"),
			ctx:  providers, path: "spec.pipeline.stages[0].with.metrics[0].expected.min", marker: "expected",
			msg: "min 2 > max 1",
		},
		{
			name: "expected without bound",
			doc:  metric("              expected: {}\n"),
			ctx:  providers, path: "spec.pipeline.stages[0].with.metrics[0].expected", marker: "expected",
			msg: "no bound",
		},
		{
			name: "strategy",
			doc:  metric("              strategy: CANARY_BASELIN\n"),
			ctx:  providers, path: "spec.pipeline.stages[0].with.metrics[0].strategy", marker: "strategy",
			msg: "unknown analysis strategy", hint: `did you mean "CANARY_BASELINE"?`,
		},
		{
			name: "missing interval",
			doc:  analysisDoc("          duration: 10m\n          metrics:\n            - provider: p\n              query: up\n              expected: {max: 1}\n"),
			path: "spec.pipeline.stages[0].with.metrics[0].interval", marker: "- provider",
			msg: "missing `interval`",
		},
		{
			name: "threshold inside a metric",
			doc:  metric("              threshold: 5\n"),
			ctx:  providers, path: "spec.pipeline.stages[0].with.metrics[0].threshold", marker: "threshold",
			msg: "unknown field", hint: "expected: {min: ..., max: ...}",
		},
		{
			name: "http expected",
			doc:  analysisDoc("          duration: 10m\n          https:\n            - url: https://x.example.com\n              expected: 200\n              interval: 1m\n"),
			path: "spec.pipeline.stages[0].with.https[0].expected", marker: "expected:",
			msg: "unknown field `expected`", hint: "`expectedCode`",
		},
		{
			name: "http regex",
			doc:  analysisDoc("          duration: 10m\n          https:\n            - url: https://x.example.com\n              expectedResponse: \"ok(\"\n              expectedResponseMatch: REGEX\n              interval: 1m\n"),
			path: "spec.pipeline.stages[0].with.https[0].expectedResponse", marker: "expectedResponse:",
			msg: "invalid regular expression",
		},
		{
			name: "http expects nothing",
			doc:  analysisDoc("          duration: 10m\n          https:\n            - url: https://x.example.com\n              interval: 1m\n"),
			path: "spec.pipeline.stages[0].with.https[0].expectedCode", marker: "- url",
			msg: "expects nothing",
		},
		{
			name: "http url",
			doc:  analysisDoc("          duration: 10m\n          https:\n            - url: canary.example.com/healthz\n              expectedCode: 200\n              interval: 1m\n"),
			path: "spec.pipeline.stages[0].with.https[0].url", marker: "url:",
			msg: "invalid URL", hint: "http:// or https://",
		},
		{
			name: "http method",
			doc:  analysisDoc("          duration: 10m\n          https:\n            - url: https://x.example.com\n              method: get\n              expectedCode: 200\n              interval: 1m\n"),
			path: "spec.pipeline.stages[0].with.https[0].method", marker: "method",
			msg: "unknown HTTP method", hint: `did you mean "GET"?`,
		},
		{
			name: "metric interval as long as the duration",
			doc:  analysisDoc("          duration: 10m\n          metrics:\n            - provider: my-prometheus\n              query: up\n              interval: 10m\n              expected: {max: 1}\n"),
			ctx:  providers, path: "spec.pipeline.stages[0].with.metrics[0].interval", marker: "interval: 10m",
			msg: "interval 10m0s is not shorter than the analysis duration 10m0s: the check would never run", hint: "shorten the interval below 10m0s, or lengthen with.duration",
		},
		{
			name: "http interval longer than the duration",
			doc:  analysisDoc("          duration: 1m\n          https:\n            - url: https://x.example.com\n              expectedCode: 200\n              interval: 5m\n"),
			path: "spec.pipeline.stages[0].with.https[0].interval", marker: "interval: 5m",
			msg: "interval 5m0s is not shorter than the analysis duration 1m0s",
		},
		{
			name: "log without provider",
			doc:  analysisDoc("          duration: 10m\n          logs:\n            - query: severity=ERROR\n              interval: 1m\n"),
			path: "spec.pipeline.stages[0].with.logs[0].provider", marker: "- query",
			msg: "missing `provider`",
		},
	})
}

func TestAnalysisProvidersUnknownWithoutRepoConfig(t *testing.T) {
	doc := analysisDoc("          duration: 10m\n          metrics:\n            - provider: anything\n              query: up\n              interval: 1m\n              expected: {max: 1}\n")
	_, ds := checkAppDoc(t, doc, CheckContext{})
	assertClean(t, ds)
}

func TestAnalysisIntervalWithinTheDuration(t *testing.T) {
	providers := CheckContext{AnalysisProviders: map[string]string{"prom": "PROMETHEUS"}}
	// A shorter interval is fine; a template's interval is checked when the stage runs.
	for name, doc := range map[string]string{
		"shorter":  analysisDoc("          duration: 10m\n          metrics:\n            - provider: prom\n              query: up\n              interval: 9m59s\n              expected: {max: 1}\n          https:\n            - url: https://x.example.com\n              expectedCode: 200\n              interval: 1m\n"),
		"template": analysisDoc("          duration: 1m\n          metrics:\n            - template: {name: error_rate}\n          https:\n            - template: {name: health}\n"),
	} {
		t.Run(name, func(t *testing.T) {
			_, ds := checkAppDoc(t, doc, providers)
			for _, d := range ds {
				if strings.Contains(d.Message, "not shorter than the analysis duration") {
					t.Errorf("unexpected diagnostic %s", d)
				}
			}
		})
	}
}
