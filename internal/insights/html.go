package insights

import (
	"bytes"
	"errors"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WriteHTML writes r as one self-contained HTML page (`pipe insights
// --html FILE`): the window, the four overall metrics as cards with their
// bands and the counts behind them, SVG charts of the series, a table of
// the applications and the report's notes.
//
// The page loads nothing: no script, no stylesheet, font or image from
// anywhere (inline <style> and inline <svg> only), and its
// Content-Security-Policy forbids them should one slip in. Every string
// from the records (application names, kinds, labels, notes) is escaped by
// html/template: they come from a Git repository that anyone who can push
// writes to.
func WriteHTML(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("insights: no report to write")
	}
	var buf bytes.Buffer
	if err := htmlTemplate().Execute(&buf, newHTMLPage(r)); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// The view of the page: every value is formatted here, the template only
// places (and escapes) them.
type htmlPage struct {
	Title  string
	Window string
	Days   string
	By     string
	Schema int
	Cards  []htmlMetric
	Charts []htmlChart
	Apps   []htmlApp
	Notes  []string
}

type htmlMetric struct {
	Name   string
	Value  string
	Band   htmlBand
	Detail string
}

type htmlBand struct{ Class, Text string }

type htmlApp struct {
	App     string
	Kind    string
	Labels  []string
	Metrics []htmlMetric
}

type htmlChart struct {
	ID, Heading, Label string
	Width, Height      int
	// The plot area.
	X0, X1, Y0, Y1 string
	// The end of the x axis' tick marks.
	TickEnd string
	// Where the axis titles go.
	XTitleX, XTitleY, YTitleX, YTitleY string
	XTitle, YTitle                     string
	XTicks, YTicks                     []htmlTick
	Colour                             string
	Bars                               []htmlRect
	Paths                              []string
	Points                             []htmlPoint
	Empty                              string
	EmptyX, EmptyY                     string
}

type htmlTick struct{ Pos, Label string }

type htmlRect struct{ X, Y, W, H, Title string }

type htmlPoint struct{ X, Y, R, Title string }

// The charts' colours. The browser test looks for them in a screenshot;
// the bands' badges use others.
const (
	htmlColourFrequency = "#2563eb"
	htmlColourLeadTime  = "#7c3aed"
	htmlColourFailure   = "#dc2626"
)

// The charts' geometry (SVG user units; the SVG scales to the page).
const (
	htmlChartW      = 960
	htmlChartH      = 280
	htmlPlotLeft    = 72
	htmlPlotRight   = 928
	htmlPlotTop     = 16
	htmlPlotBottom  = 220
	htmlMaxXLabels  = 10
	htmlDensePoints = 60
)

func newHTMLPage(r *Report) htmlPage {
	p := htmlPage{
		Window: htmlTime(r.Since) + " – " + htmlTime(r.Until),
		Days:   htmlWindowLength(r.Since, r.Until),
		By:     string(r.By),
		Schema: r.SchemaVersion,
		Notes:  r.Notes,
	}
	if p.By == "" {
		p.By = "bucket"
	}
	p.Title = "pipe insights: DORA metrics, " + p.Window
	p.Cards = htmlMetrics(r.Overall, r.Since, r.Until)
	p.Charts = []htmlChart{
		htmlFrequencyChart(r),
		htmlLeadTimeChart(r),
		htmlFailureChart(r),
	}
	for i := range p.Charts {
		if p.Charts[i].Empty != "" {
			// No scale for nothing: the message stands alone in the frame.
			p.Charts[i].YTicks = nil
		}
	}
	for _, a := range r.Apps {
		row := htmlApp{App: a.App, Kind: a.Kind, Metrics: htmlMetrics(a.Metrics, r.Since, r.Until)}
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row.Labels = append(row.Labels, k+"="+a.Labels[k])
		}
		p.Apps = append(p.Apps, row)
	}
	return p
}

// htmlMetrics are the four metrics of m, in the order of the cards and of
// the table's columns.
func htmlMetrics(m Metrics, since, until time.Time) []htmlMetric {
	const none = "—"
	out := make([]htmlMetric, 0, 4)

	df := m.DeploymentFrequency
	f := htmlMetric{Name: "Deployment frequency", Band: htmlBandOf(df.Band), Value: none}
	if df.Successful > 0 {
		f.Value = htmlRate(df.PerDay)
	}
	f.Detail = htmlPlural(df.Successful, "successful deployment", "successful deployments")
	if l := htmlWindowLength(since, until); l != "" {
		f.Detail += " over " + l
	}
	if df.DeployDays > 0 {
		f.Detail += ", on " + htmlPlural(df.DeployDays, "day", "distinct days")
	}
	out = append(out, f)

	cf := m.ChangeFailureRate
	c := htmlMetric{Name: "Change failure rate", Band: htmlBandOf(cf.Band), Value: none}
	if cf.Completed == 0 {
		c.Detail = "no completed deployment"
	} else {
		c.Value = htmlPercent(cf.Rate)
		c.Detail = strconv.Itoa(cf.Failed) + " of " + strconv.Itoa(cf.Completed) + " failed"
		if cf.RolledBack > 0 {
			c.Detail += " (" + strconv.Itoa(cf.RolledBack) + " rolled back)"
		}
		if cf.Cancelled > 0 {
			c.Detail += ", " + strconv.Itoa(cf.Cancelled) + " cancelled"
		}
	}
	out = append(out, c)

	lt := m.LeadTime
	l := htmlMetric{Name: "Lead time for changes", Band: htmlBandOf(lt.Band), Value: none}
	if lt.Count == 0 {
		l.Detail = "no deployed commit"
	} else {
		l.Value = formatDuration(lt.MedianSeconds)
		l.Detail = "median " + formatDuration(lt.MedianSeconds) + ", p90 " + formatDuration(lt.P90Seconds) +
			" over " + htmlPlural(lt.Count, "commit", "commits") + " in " + htmlPlural(lt.Deployments, "deployment", "deployments")
		if lt.Clamped > 0 {
			l.Detail += "; " + strconv.Itoa(lt.Clamped) + " counted as 0 (committed after the deployment: clock skew)"
		}
	}
	out = append(out, l)

	tr := m.TimeToRestore
	t := htmlMetric{Name: "Time to restore service", Band: htmlBandOf(tr.Band), Value: none}
	switch {
	case tr.Incidents == 0:
		t.Detail = "no incident"
	case tr.Restored == 0:
		t.Detail = htmlPlural(tr.Incidents, "incident", "incidents") + ", none restored yet (" + strconv.Itoa(tr.Open) + " open)"
	default:
		t.Value = formatDuration(tr.MedianSeconds)
		t.Detail = "median " + formatDuration(tr.MedianSeconds) + ", p90 " + formatDuration(tr.P90Seconds) +
			" over " + htmlPlural(tr.Incidents, "incident", "incidents")
		if tr.Open > 0 {
			t.Detail += " (" + strconv.Itoa(tr.Open) + " open)"
		}
	}
	out = append(out, t)
	return out
}

func htmlBandOf(b Band) htmlBand {
	switch b {
	case BandElite, BandHigh, BandMedium, BandLow:
		return htmlBand{Class: "band-" + string(b), Text: string(b)}
	case BandNone:
		return htmlBand{Class: "band-none", Text: "no data"}
	}
	// A band this version does not know: shown as is, escaped.
	return htmlBand{Class: "band-none", Text: string(b)}
}

// htmlRate is a deployment rate, per day, week or month, whichever makes
// it at least 1 (per month at most).
func htmlRate(perDay float64) string {
	switch {
	case perDay >= 1:
		return htmlNumber(perDay) + " per day"
	case perDay*7 >= 1:
		return htmlNumber(perDay*7) + " per week"
	}
	return htmlNumber(perDay*30) + " per month"
}

// htmlNumber formats v with one decimal at most (none from 100 on),
// and with a k, M, G... suffix from 10,000 on.
func htmlNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	if math.Abs(v) >= 1e4 {
		for _, s := range []struct {
			div    float64
			suffix string
		}{{1e18, "E"}, {1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
			if math.Abs(v) >= s.div {
				q := v / s.div
				if math.Abs(q) >= 1e6 {
					return strconv.FormatFloat(v, 'g', 3, 64)
				}
				return htmlNumber(q) + s.suffix
			}
		}
	}
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

func htmlPercent(rate float64) string {
	return htmlNumber(rate*100) + "%"
}

func htmlPlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// htmlTime is a date, or a date and time when t is not a UTC midnight.
func htmlTime(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04 UTC")
}

// htmlWindowLength is the length of the window in days ("90 days"), or
// as a duration when it is not whole days; "" when unknown.
func htmlWindowLength(since, until time.Time) string {
	if since.IsZero() || until.IsZero() || !until.After(since) {
		return ""
	}
	d := until.Sub(since)
	if d%(24*time.Hour) == 0 {
		return htmlPlural(int(d/(24*time.Hour)), "day", "days")
	}
	return formatDuration(d.Seconds())
}

// htmlBucket names bucket t for an axis label and for a tooltip.
func htmlBucket(t time.Time, by Period) (label, long string) {
	t = t.UTC()
	switch by {
	case Month:
		l := t.Format("2006-01")
		return l, l
	case Week:
		l := t.Format("2006-01-02")
		return l, "week of " + l
	}
	l := t.Format("2006-01-02")
	return l, l
}

func htmlPeriodNames(by Period) (one, many string) {
	switch by {
	case Day, Week, Month:
		return string(by), string(by) + "s"
	}
	return "bucket", "buckets"
}

func htmlCoord(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// htmlAxis is the frame of a chart: its plot area, x axis (buckets) and
// titles. The y axis is added by htmlYAxis.
func htmlAxis(r *Report, id, heading, yTitle, colour string) htmlChart {
	c := htmlChart{
		ID: id, Heading: heading, Colour: colour,
		Width: htmlChartW, Height: htmlChartH,
		X0: htmlCoord(htmlPlotLeft), X1: htmlCoord(htmlPlotRight),
		Y0: htmlCoord(htmlPlotTop), Y1: htmlCoord(htmlPlotBottom), TickEnd: htmlCoord(htmlPlotBottom + 5),
		XTitleX: htmlCoord((htmlPlotLeft + htmlPlotRight) / 2), XTitleY: htmlCoord(htmlChartH - 8),
		YTitleX: htmlCoord(-(htmlPlotTop + htmlPlotBottom) / 2), YTitleY: "16",
		YTitle: yTitle,
		EmptyX: htmlCoord((htmlPlotLeft + htmlPlotRight) / 2), EmptyY: htmlCoord((htmlPlotTop + htmlPlotBottom) / 2),
	}
	one, _ := htmlPeriodNames(r.By)
	c.XTitle = one
	if r.By == Week {
		c.XTitle = "week starting (UTC)"
	} else if r.By == Day || r.By == Month {
		c.XTitle += " (UTC)"
	}
	n := len(r.Buckets)
	if n == 0 {
		c.Empty = "no " + one + " in the window"
		return c
	}
	step := (n + htmlMaxXLabels - 1) / htmlMaxXLabels
	for i := 0; i < n; i += step {
		label, _ := htmlBucket(r.Buckets[i], r.By)
		c.XTicks = append(c.XTicks, htmlTick{Pos: htmlCoord(htmlSlotCentre(i, n)), Label: label})
	}
	return c
}

func htmlSlotCentre(i, n int) float64 {
	slot := float64(htmlPlotRight-htmlPlotLeft) / float64(n)
	return htmlPlotLeft + (float64(i)+0.5)*slot
}

// htmlScale is a y axis: values from 0 to top, in unit (a divisor of the
// values) with suffix, ticks every step (in units).
type htmlScale struct {
	top, step, unit float64
	suffix          string
	decimals        int
}

// htmlNiceScale covers 0..max (in units) with at most 5 ticks at 1, 2 or 5
// times a power of ten; integer keeps the step a whole number.
func htmlNiceScale(max float64, integer bool) htmlScale {
	if !(max > 0) || math.IsInf(max, 0) {
		max = 1
	}
	raw := max / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if integer && step < 1 {
		step = 1
	}
	top := math.Ceil(max/step-1e-9) * step
	if math.IsInf(top, 0) || math.IsInf(step, 0) || step <= 0 {
		top, step = max, max/4
	}
	s := htmlScale{top: top, step: step, unit: 1}
	if step < 1 {
		s.decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return s
}

func (s htmlScale) label(v float64) string {
	if v >= 1e4 {
		return htmlNumber(v) + s.suffix
	}
	return strconv.FormatFloat(v, 'f', s.decimals, 64) + s.suffix
}

// y is the y coordinate of value v (in the values' own unit, not in
// s.unit), clamped to the plot.
func (s htmlScale) y(v float64) float64 {
	f := v / s.unit / s.top
	if f > 1 {
		f = 1
	}
	if f < 0 {
		f = 0
	}
	return htmlPlotBottom - f*(htmlPlotBottom-htmlPlotTop)
}

func (c *htmlChart) yAxis(s htmlScale) {
	n := int(math.Round(s.top / s.step))
	for i := 0; i <= n; i++ {
		v := float64(i) * s.step
		if i == n {
			v = s.top
		}
		c.YTicks = append(c.YTicks, htmlTick{Pos: htmlCoord(s.y(v * s.unit)), Label: s.label(v)})
	}
}

// htmlValid reports whether series value v is a point: -1 (and any other
// negative, NaN or infinity) is none.
func htmlValid(v float64) bool {
	return v >= 0 && !math.IsInf(v, 0) && !math.IsNaN(v)
}

func htmlFrequencyChart(r *Report) htmlChart {
	_, many := htmlPeriodNames(r.By)
	c := htmlAxis(r, "chart-frequency", "Successful deployments per "+htmlPeriodOne(r.By), "deployments", htmlColourFrequency)
	n := len(r.Buckets)
	series := r.Overall.DeploymentFrequency.Series
	max, total := 0.0, 0.0
	for i := 0; i < n && i < len(series); i++ {
		v := float64(series[i])
		total += v
		if v > max {
			max = v
		}
	}
	s := htmlNiceScale(max, true)
	c.yAxis(s)
	if n > 0 {
		c.Label = "Bar chart of the successful deployments per " + htmlPeriodOne(r.By) + ", " + strconv.Itoa(n) + " " + many +
			" from " + htmlTime(r.Buckets[0]) + ": " + htmlNumber(total) + " in all, at most " + htmlNumber(max) + " in one " + htmlPeriodOne(r.By) + "."
	} else {
		c.Label = "Bar chart of the successful deployments: no " + htmlPeriodOne(r.By) + " in the window."
	}
	if n > 0 && max == 0 {
		c.Empty = "no successful deployment in the window"
	}
	if n == 0 {
		return c
	}
	slot := float64(htmlPlotRight-htmlPlotLeft) / float64(n)
	w := slot * 0.7
	if slot < 6 {
		w = slot * 0.85
	}
	for i := 0; i < n && i < len(series); i++ {
		if series[i] <= 0 {
			continue
		}
		y := s.y(float64(series[i]))
		if htmlPlotBottom-y < 1 {
			y = htmlPlotBottom - 1 // a count too small for the scale still shows
		}
		_, long := htmlBucket(r.Buckets[i], r.By)
		c.Bars = append(c.Bars, htmlRect{
			X: htmlCoord(htmlSlotCentre(i, n) - w/2), Y: htmlCoord(y),
			W: htmlCoord(w), H: htmlCoord(htmlPlotBottom - y),
			Title: long + ": " + htmlPlural(series[i], "successful deployment", "successful deployments"),
		})
	}
	return c
}

func htmlPeriodOne(by Period) string {
	one, _ := htmlPeriodNames(by)
	return one
}

// htmlLine draws series (one value per bucket, in the values' unit) as a
// line broken where there is no value, with a point at each value.
func htmlLine(c *htmlChart, r *Report, series []float64, s htmlScale, tooltip func(float64) string) int {
	n := len(r.Buckets)
	radius := "3"
	if n > htmlDensePoints {
		radius = "1.5"
	}
	var path strings.Builder
	points := 0
	prev := false
	for i := 0; i < n; i++ {
		if i >= len(series) || !htmlValid(series[i]) {
			if prev && path.Len() > 0 {
				c.Paths = append(c.Paths, path.String())
			}
			path.Reset()
			prev = false
			continue
		}
		x, y := htmlCoord(htmlSlotCentre(i, n)), htmlCoord(s.y(series[i]))
		if prev {
			path.WriteString(" L" + x + " " + y)
		} else {
			path.WriteString("M" + x + " " + y)
		}
		prev = true
		points++
		_, long := htmlBucket(r.Buckets[i], r.By)
		c.Points = append(c.Points, htmlPoint{X: x, Y: y, R: radius, Title: long + ": " + tooltip(series[i])})
	}
	if prev && path.Len() > 0 {
		c.Paths = append(c.Paths, path.String())
	}
	// A lone point is a path with no line: leave it to its circle.
	kept := c.Paths[:0]
	for _, p := range c.Paths {
		if strings.Contains(p, " L") {
			kept = append(kept, p)
		}
	}
	c.Paths = kept
	return points
}

func htmlLeadTimeChart(r *Report) htmlChart {
	series := r.Overall.LeadTime.Series
	n := len(r.Buckets)
	max := 0.0
	for i := 0; i < n && i < len(series); i++ {
		if htmlValid(series[i]) && series[i] > max {
			max = series[i]
		}
	}
	unit, suffix, name := 1.0, "s", "seconds"
	switch {
	case max >= 2*86400:
		unit, suffix, name = 86400, "d", "days"
	case max >= 2*3600:
		unit, suffix, name = 3600, "h", "hours"
	case max >= 120:
		unit, suffix, name = 60, "m", "minutes"
	}
	c := htmlAxis(r, "chart-lead-time", "Median lead time for changes per "+htmlPeriodOne(r.By), "median lead time ("+name+")", htmlColourLeadTime)
	s := htmlNiceScale(max/unit, false)
	s.unit, s.suffix = unit, suffix
	c.yAxis(s)
	if n == 0 {
		c.Label = "Line chart of the median lead time for changes: no " + htmlPeriodOne(r.By) + " in the window."
		return c
	}
	points := htmlLine(&c, r, series, s, func(v float64) string { return "median lead time " + formatDuration(v) })
	_, many := htmlPeriodNames(r.By)
	c.Label = "Line chart of the median lead time for changes per " + htmlPeriodOne(r.By) + ": " + strconv.Itoa(points) + " of " + strconv.Itoa(n) + " " + many +
		" from " + htmlTime(r.Buckets[0]) + " had deployed commits"
	if points > 0 {
		c.Label += ", the longest median " + formatDuration(max)
	} else {
		c.Empty = "no deployed commit in the window"
	}
	c.Label += "."
	return c
}

func htmlFailureChart(r *Report) htmlChart {
	series := r.Overall.ChangeFailureRate.Series
	n := len(r.Buckets)
	max := 0.0
	for i := 0; i < n && i < len(series); i++ {
		if htmlValid(series[i]) && series[i] > max {
			max = series[i]
		}
	}
	c := htmlAxis(r, "chart-failure-rate", "Change failure rate per "+htmlPeriodOne(r.By), "failed deployments (%)", htmlColourFailure)
	// In percent, 0 to at least 10% and at most 100%.
	s := htmlNiceScale(math.Max(max*100, 10), true)
	if s.top > 100 {
		s = htmlScale{top: 100, step: 25}
	}
	s.unit, s.suffix = 0.01, "%"
	c.yAxis(s)
	if n == 0 {
		c.Label = "Line chart of the change failure rate: no " + htmlPeriodOne(r.By) + " in the window."
		return c
	}
	points := htmlLine(&c, r, series, s, htmlPercent)
	_, many := htmlPeriodNames(r.By)
	c.Label = "Line chart of the change failure rate per " + htmlPeriodOne(r.By) + ": " + strconv.Itoa(points) + " of " + strconv.Itoa(n) + " " + many +
		" from " + htmlTime(r.Buckets[0]) + " had completed deployments"
	if points > 0 {
		c.Label += ", the highest rate " + htmlPercent(max)
	} else {
		c.Empty = "no completed deployment in the window"
	}
	c.Label += "."
	return c
}

// htmlTemplate is the page template, parsed on first use.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(htmlPageSource))
})

const htmlPageSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="pipe insights">
<title>{{.Title}}</title>
<style>
:root { color-scheme: light; }
body { margin: 0; padding: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2937; background: #f8fafc; }
main { max-width: 1180px; margin: 0 auto; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
h3 { font-size: 15px; margin: 0 0 6px; }
.sub { color: #4b5563; margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(250px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 14px 16px; }
.card .name { font-size: 13px; color: #4b5563; margin: 0; }
.card .value { font-size: 28px; font-weight: 600; margin: 4px 8px 4px 0; display: inline-block; }
.detail { color: #4b5563; font-size: 13px; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 12px; font-weight: 600; color: #fff; vertical-align: middle; }
.band-elite { background: #15803d; }
.band-high { background: #0e7490; }
.band-medium { background: #b45309; }
.band-low { background: #9f1239; }
.band-none { background: #e5e7eb; color: #374151; }
.chart { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px 16px; margin: 0 0 12px; }
.chart svg { display: block; width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #e5e7eb; }
th, td { text-align: left; vertical-align: top; padding: 8px 10px; border-bottom: 1px solid #e5e7eb; }
thead th { font-size: 13px; color: #4b5563; background: #f1f5f9; }
td .value { font-weight: 600; margin-right: 6px; }
.app { font-weight: 600; word-break: break-all; }
.meta { color: #6b7280; font-size: 12px; font-weight: normal; word-break: break-all; }
footer { color: #6b7280; font-size: 12px; margin-top: 28px; }
@media print { body { background: #fff; padding: 0; } .chart, .card { break-inside: avoid; } }
</style>
</head>
<body>
<main>
<header>
<h1>DORA metrics</h1>
<p class="sub">Window {{.Window}}{{with .Days}} ({{.}}){{end}}, by {{.By}}. Generated by <strong>pipe insights</strong> from pipe's deployment records (Git notes).</p>
</header>

<section aria-labelledby="overall">
<h2 id="overall">Overall</h2>
<div class="cards">
{{- range .Cards}}
<div class="card">
<p class="name">{{.Name}}</p>
<span class="value">{{.Value}}</span> <span class="badge {{.Band.Class}}">{{.Band.Text}}</span>
<div class="detail">{{.Detail}}</div>
</div>
{{- end}}
</div>
</section>

<section aria-labelledby="charts">
<h2 id="charts">Per {{.By}}</h2>
{{- range .Charts}}
<figure class="chart" id="{{.ID}}">
<h3>{{.Heading}}</h3>
<svg viewBox="0 0 {{.Width}} {{.Height}}" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="{{.Label}}" font-family="system-ui, 'DejaVu Sans', sans-serif" font-size="12">
<title>{{.Label}}</title>
<g stroke="#e5e7eb" stroke-width="1">
{{- $x0 := .X0}}{{$x1 := .X1}}
{{- range .YTicks}}
<line x1="{{$x0}}" x2="{{$x1}}" y1="{{.Pos}}" y2="{{.Pos}}"/>
{{- end}}
</g>
<g fill="#4b5563" text-anchor="end">
{{- range .YTicks}}
<text x="{{$x0}}" dx="-6" y="{{.Pos}}" dy="4">{{.Label}}</text>
{{- end}}
</g>
<g fill="#4b5563" text-anchor="middle">
{{- $y1 := .Y1}}{{$tick := .TickEnd}}
{{- range .XTicks}}
<line x1="{{.Pos}}" x2="{{.Pos}}" y1="{{$y1}}" y2="{{$tick}}" stroke="#9ca3af"/>
<text x="{{.Pos}}" y="{{$y1}}" dy="18">{{.Label}}</text>
{{- end}}
</g>
<line x1="{{.X0}}" x2="{{.X1}}" y1="{{.Y1}}" y2="{{.Y1}}" stroke="#9ca3af"/>
<line x1="{{.X0}}" x2="{{.X0}}" y1="{{.Y0}}" y2="{{.Y1}}" stroke="#9ca3af"/>
<text x="{{.XTitleX}}" y="{{.XTitleY}}" text-anchor="middle" fill="#374151">{{.XTitle}}</text>
<text transform="rotate(-90)" x="{{.YTitleX}}" y="{{.YTitleY}}" text-anchor="middle" fill="#374151">{{.YTitle}}</text>
{{- if .Bars}}
<g fill="{{.Colour}}">
{{- range .Bars}}
<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"><title>{{.Title}}</title></rect>
{{- end}}
</g>
{{- end}}
{{- if .Paths}}
<g fill="none" stroke="{{.Colour}}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">
{{- range .Paths}}
<path d="{{.}}"/>
{{- end}}
</g>
{{- end}}
{{- if .Points}}
<g fill="{{.Colour}}">
{{- range .Points}}
<circle cx="{{.X}}" cy="{{.Y}}" r="{{.R}}"><title>{{.Title}}</title></circle>
{{- end}}
</g>
{{- end}}
{{- if .Empty}}
<text x="{{.EmptyX}}" y="{{.EmptyY}}" text-anchor="middle" fill="#6b7280" font-size="14">{{.Empty}}</text>
{{- end}}
</svg>
</figure>
{{- end}}
</section>

<section aria-labelledby="apps">
<h2 id="apps">Applications</h2>
{{- if .Apps}}
<table>
<thead><tr><th scope="col">Application</th><th scope="col">Deployment frequency</th><th scope="col">Change failure rate</th><th scope="col">Lead time for changes</th><th scope="col">Time to restore service</th></tr></thead>
<tbody>
{{- range .Apps}}
<tr>
<th scope="row"><div class="app">{{.App}}</div>{{with .Kind}}<div class="meta">kind {{.}}</div>{{end}}{{range .Labels}}<div class="meta">{{.}}</div>{{end}}</th>
{{- range .Metrics}}
<td><span class="value">{{.Value}}</span> <span class="badge {{.Band.Class}}">{{.Band.Text}}</span><div class="detail">{{.Detail}}</div></td>
{{- end}}
</tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>No application in the report.</p>
{{- end}}
</section>
{{- if .Notes}}

<section aria-labelledby="notes">
<h2 id="notes">Notes</h2>
<ul>
{{- range .Notes}}
<li>{{.}}</li>
{{- end}}
</ul>
</section>
{{- end}}

<footer>
<p>Deployment frequency: successful deployments per {{.By}}. Change failure rate: failed or rolled-back deployments over completed ones. Lead time for changes: from each commit's time to the end of the successful deployment that brought it. Time to restore service: from the start of a failed deployment to the end of its rollback or of the app's next successful deployment. Bands: DORA's elite, high, medium and low performance.</p>
<p>pipe insights, report schema {{.Schema}}. This page loads nothing: no script, no network resource.</p>
</footer>
</main>
</body>
</html>
`
