package config

import (
	"fmt"
	"sort"
	"strings"
)

// AnalysisStageOptions configures an ANALYSIS stage: metrics, logs and HTTP
// checks run at intervals for a duration; the stage fails as soon as one
// check fails more than its failureLimit.
type AnalysisStageOptions struct {
	// How long the analysis runs (required).
	Duration Duration `json:"duration"`
	// Tolerated pod restarts (PipeCD parses it without using it).
	RestartThreshold int `json:"restartThreshold,omitempty"`
	// Metric queries.
	Metrics []TemplatableAnalysisMetrics `json:"metrics,omitempty"`
	// Log queries.
	Logs []TemplatableAnalysisLog `json:"logs,omitempty"`
	// HTTP checks.
	HTTPS []TemplatableAnalysisHTTP `json:"https,omitempty"`
	// When to skip the stage.
	SkipOn SkipOptions `json:"skipOn,omitempty"`
}

// unknownFieldHint explains fields PipeCD's own examples wrongly use.
func (*AnalysisStageOptions) unknownFieldHint(key string) string {
	switch key {
	case "threshold":
		return "ANALYSIS has no `threshold`; PipeCD ignores it silently. To tolerate failed checks set `failureLimit` on each metric / http check"
	case "metric", "http", "log":
		return fmt.Sprintf("did you mean `%ss`? (a list)", key)
	case "timeout":
		return "the analysis runs for `duration`; a stage timeout goes beside `name` (not under `with`), and each query has its own `timeout`"
	}
	return ""
}

// Validate implements validatable.
func (o *AnalysisStageOptions) Validate(c *Checker, path string) {
	if !c.Has(path) {
		return // the stage decoder reported the missing `with`
	}
	if o.Duration <= 0 {
		c.Errorf(path+".duration", `how long the analysis runs, e.g. "10m"`, "ANALYSIS needs `duration`")
	}
	if o.RestartThreshold < 0 {
		c.Errorf(path+".restartThreshold", "", "restartThreshold must not be negative")
	}
	// A check whose interval is not shorter than the duration never runs
	// (the first check is one interval after the start). Checks taken
	// from a template are checked when the stage runs.
	if o.Duration > 0 {
		for i, m := range o.Metrics {
			checkIntervalWithin(c, fmt.Sprintf("%s.metrics[%d]", path, i), m.Interval, o.Duration)
		}
		for i, h := range o.HTTPS {
			checkIntervalWithin(c, fmt.Sprintf("%s.https[%d]", path, i), h.Interval, o.Duration)
		}
	}
	if len(o.Metrics)+len(o.Logs)+len(o.HTTPS) == 0 && o.Duration > 0 {
		c.Warnf(path, "add metrics, logs or https checks", "the analysis checks nothing: it only waits %s", o.Duration)
	}
}

// checkIntervalWithin reports an inline check (at path) whose interval is
// not shorter than the analysis duration.
func checkIntervalWithin(c *Checker, path string, interval, duration Duration) {
	if c.Has(path+".template") || interval <= 0 || interval < duration {
		return
	}
	c.Errorf(path+".interval", fmt.Sprintf("shorten the interval below %s, or lengthen with.duration", duration),
		"interval %s is not shorter than the analysis duration %s: the check would never run (the first check is one interval after the start)", interval, duration)
}

// AnalysisTemplateRef refers to a template of the .pipe/ AnalysisTemplate.
type AnalysisTemplateRef struct {
	// The template name.
	Name string `json:"name,omitempty"`
	// Arguments of the template, referred to as {{ .AppCustomArgs.KEY }}.
	AppArgs map[string]string `json:"appArgs,omitempty"`
}

// checkTemplateRef checks a template reference against the known templates.
// It reports whether the reference is used (the inline fields are then ignored).
func checkTemplateRef(c *Checker, path, section string, ref AnalysisTemplateRef, inline []string) bool {
	if !c.Has(path + ".template") {
		return false
	}
	if ref.Name == "" {
		c.Errorf(path+".template.name", "name a template of the .pipe/ AnalysisTemplate", "the template reference has no name")
		return true
	}
	if known := c.Ctx.AnalysisTemplates; known != nil && !known[section][ref.Name] {
		names := make([]string, 0, len(known[section]))
		for n := range known[section] {
			names = append(names, n)
		}
		sort.Strings(names)
		hint := "the .pipe/ AnalysisTemplate defines no " + section + " templates"
		if len(names) > 0 {
			hint = enumHint(ref.Name, names)
		}
		c.Errorf(path+".template.name", hint, "analysis template %q is not defined in spec.%s of the AnalysisTemplate", ref.Name, section)
	}
	for _, f := range inline {
		if c.Has(path + "." + f) {
			c.Warnf(path+"."+f, "set it in the template, or pass a value with template.appArgs", "`%s` is ignored: the template's settings are used", f)
		}
	}
	return true
}

// checkProvider checks that an analysis provider is configured in .pipe/config.yaml.
func checkProvider(c *Checker, path, provider string) {
	if provider == "" {
		c.Errorf(path, "name an analysis provider of .pipe/config.yaml", "missing `provider`")
		return
	}
	known := c.Ctx.AnalysisProviders
	if known == nil {
		return // no repository config: nothing to check against
	}
	if _, ok := known[provider]; ok {
		return
	}
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	hint := "add it to analysisProviders in .pipe/config.yaml; none is configured"
	if len(names) > 0 {
		hint = "configured in .pipe/config.yaml: " + strings.Join(names, ", ")
		if m := didYouMean(provider, names); m != "" {
			hint = fmt.Sprintf("did you mean %q? %s", m, hint)
		}
	}
	c.Errorf(path, hint, "analysis provider %q is not configured", provider)
}

// checkCommon checks the fields every kind of analysis query has.
func checkCommon(c *Checker, path string, interval Duration, failureLimit int, timeout Duration) {
	if interval <= 0 {
		c.Errorf(path+".interval", `how often to check, e.g. "1m"`, "missing `interval`")
	}
	if failureLimit < 0 {
		c.Errorf(path+".failureLimit", "", "failureLimit must not be negative")
	}
	if c.Has(path+".timeout") && timeout <= 0 {
		c.Errorf(path+".timeout", "remove it for the default 30s", "timeout must be greater than 0")
	}
}

// AnalysisLog is a log query: the check fails when the query returns entries.
type AnalysisLog struct {
	// The log query.
	Query string `json:"query"`
	// How often the query runs.
	Interval Duration `json:"interval"`
	// Failed checks tolerated before the stage fails.
	FailureLimit int `json:"failureLimit,omitempty"`
	// Count a query that returns no data as a success.
	SkipOnNoData bool `json:"skipOnNoData,omitempty"`
	// How long a query may take (PipeCD has no default; pipe uses 30s).
	Timeout Duration `json:"timeout,omitempty" jsonschema:"default=30s"`
	// The analysis provider of .pipe/config.yaml to query.
	Provider string `json:"provider"`
}

// Validate implements validatable.
func (l *AnalysisLog) Validate(c *Checker, path string) {
	checkProvider(c, path+".provider", l.Provider)
	if strings.TrimSpace(l.Query) == "" {
		c.Errorf(path+".query", "", "missing `query`")
	}
	checkCommon(c, path, l.Interval, l.FailureLimit, l.Timeout)
}

// TemplatableAnalysisLog is a log query, inline or from a template.
type TemplatableAnalysisLog struct {
	AnalysisLog
	// Use a template of the .pipe/ AnalysisTemplate instead of the inline fields.
	Template AnalysisTemplateRef `json:"template,omitempty"`
}

// Validate implements validatable.
func (l *TemplatableAnalysisLog) Validate(c *Checker, path string) {
	if checkTemplateRef(c, path, "logs", l.Template, []string{"query", "interval", "failureLimit", "skipOnNoData", "timeout", "provider"}) {
		return
	}
	l.AnalysisLog.Validate(c, path)
}

// AnalysisTemplateSpec is the spec of the AnalysisTemplate kind (in .pipe/):
// named analysis queries that ANALYSIS stages refer to by name.
type AnalysisTemplateSpec struct {
	// Metric query templates by name.
	Metrics map[string]AnalysisMetrics `json:"metrics,omitempty"`
	// Log query templates by name.
	Logs map[string]AnalysisLog `json:"logs,omitempty"`
	// HTTP check templates by name.
	HTTPS map[string]AnalysisHTTP `json:"https,omitempty"`
}

// Validate implements validatable.
func (s *AnalysisTemplateSpec) Validate(c *Checker, path string) {
	if len(s.Metrics)+len(s.Logs)+len(s.HTTPS) == 0 {
		c.Warnf(path, "define templates under metrics, logs or https", "the AnalysisTemplate defines no template")
	}
}

// TemplateNames lists the names defined in each section, as
// CheckContext.AnalysisTemplates wants them.
func (s *AnalysisTemplateSpec) TemplateNames() map[string]map[string]bool {
	out := map[string]map[string]bool{"metrics": {}, "logs": {}, "https": {}}
	for n := range s.Metrics {
		out["metrics"][n] = true
	}
	for n := range s.Logs {
		out["logs"][n] = true
	}
	for n := range s.HTTPS {
		out["https"][n] = true
	}
	return out
}
