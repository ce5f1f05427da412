package insights

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteMarkdown writes the report as Markdown for a job summary
// ($GITHUB_STEP_SUMMARY) or a merge request note: the four metrics with
// their bands and counts, Mermaid charts (xychart-beta: bars for the
// deployment frequency, lines for the median lead time and the change
// failure rate) that GitHub and GitLab render, and one row per
// application.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### DORA metrics · %s (%s) · by %s\n\n", window(r), days(r), r.By)
	b.WriteString("| Metric | Value | Band | Behind it |\n|---|---|---|---|\n")
	m := r.Overall
	none := m.ChangeFailureRate.Completed == 0
	fmt.Fprintf(&b, "| Deployment frequency | %s | %s | %s |\n", frequency(m.DeploymentFrequency.PerDay, none), mdBand(m.DeploymentFrequency.Band), frequencyCounts(m.DeploymentFrequency))
	fmt.Fprintf(&b, "| Change failure rate | %s | %s | %s |\n", percent(m.ChangeFailureRate.Rate, m.ChangeFailureRate.Completed), mdBand(m.ChangeFailureRate.Band), failureCounts(m.ChangeFailureRate))
	fmt.Fprintf(&b, "| Lead time for changes | %s | %s | %s |\n", median(m.LeadTime.MedianSeconds, m.LeadTime.Count), mdBand(m.LeadTime.Band), leadCounts(m.LeadTime))
	fmt.Fprintf(&b, "| Time to restore service | %s | %s | %s |\n", median(m.TimeToRestore.MedianSeconds, m.TimeToRestore.Restored), mdBand(m.TimeToRestore.Band), restoreCounts(m.TimeToRestore))

	if len(r.Buckets) > 1 && !none {
		labels := bucketLabels(r)
		per := string(r.By)
		fmt.Fprintf(&b, "\n```mermaid\nxychart-beta\n    title \"Successful deployments per %s\"\n    x-axis [%s]\n    y-axis \"Deployments\" 0 --> %d\n    bar [%s]\n```\n",
			per, labels, niceMax(float64(maxInt(m.DeploymentFrequency.Series))), joinInts(m.DeploymentFrequency.Series))
		if m.LeadTime.Count > 0 {
			unit, div := hoursOrDays(m.LeadTime.Series)
			fmt.Fprintf(&b, "\n```mermaid\nxychart-beta\n    title \"Lead time for changes, median per %s (%s)\"\n    x-axis [%s]\n    y-axis \"%s\"\n    line [%s]\n```\n",
				per, unit, labels, unit, joinScaled(m.LeadTime.Series, 1/div))
		}
		fmt.Fprintf(&b, "\n```mermaid\nxychart-beta\n    title \"Change failure rate per %s (%%)\"\n    x-axis [%s]\n    y-axis \"%%\" 0 --> 100\n    line [%s]\n```\n",
			per, labels, joinScaled(m.ChangeFailureRate.Series, 100))
		fmt.Fprintf(&b, "\nA %s without deployments shows 0 in the lines.\n", per)
	}

	if len(r.Apps) > 0 {
		b.WriteString("\n| Application | Kind | Deployments | Frequency | Failure rate | Lead time | Time to restore |\n|---|---|---|---|---|---|---|\n")
		for _, a := range r.Apps {
			m := a.Metrics
			fmt.Fprintf(&b, "| %s | %s | %d | %s %s | %s %s | %s %s | %s %s |\n", mdCell(a.App), mdCell(a.Kind), m.ChangeFailureRate.Completed,
				frequency(m.DeploymentFrequency.PerDay, false), mdBand(m.DeploymentFrequency.Band),
				percent(m.ChangeFailureRate.Rate, m.ChangeFailureRate.Completed), mdBand(m.ChangeFailureRate.Band),
				median(m.LeadTime.MedianSeconds, m.LeadTime.Count), mdBand(m.LeadTime.Band),
				median(m.TimeToRestore.MedianSeconds, m.TimeToRestore.Restored), mdBand(m.TimeToRestore.Band))
		}
	}
	for i, n := range r.Notes {
		if i == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "> %s\n>\n", mdCell(n))
	}
	_, err := io.WriteString(w, strings.TrimSuffix(b.String(), ">\n"))
	return err
}

func mdBand(b Band) string {
	switch b {
	case BandElite:
		return "🟢 elite"
	case BandHigh:
		return "🔵 high"
	case BandMedium:
		return "🟡 medium"
	case BandLow:
		return "🔴 low"
	}
	return "no data"
}

// mdCell makes text from records safe in a table cell: no markup, no
// line break, no HTML.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;", "`", "'", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`).Replace(s)
}

// bucketLabels are the x-axis categories: quoted dates.
func bucketLabels(r *Report) string {
	format := "01-02"
	switch {
	case r.By == Month:
		format = "2006-01"
	case r.Buckets[0].Year() != r.Buckets[len(r.Buckets)-1].Year():
		format = "2006-01-02"
	}
	out := make([]string, len(r.Buckets))
	for i, t := range r.Buckets {
		out[i] = strconv.Quote(t.Format(format))
	}
	return strings.Join(out, ", ")
}

func joinInts(vs []int) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strconv.Itoa(v)
	}
	return strings.Join(out, ", ")
}

// joinScaled writes vs times k with one decimal; no data (-1) is 0.
func joinScaled(vs []float64, k float64) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		out[i] = strconv.FormatFloat(math.Round(v*k*10)/10, 'f', -1, 64)
	}
	return strings.Join(out, ", ")
}

// hoursOrDays picks the unit of a lead time series.
func hoursOrDays(vs []float64) (string, float64) {
	hi := 0.0
	for _, v := range vs {
		hi = max(hi, v)
	}
	if hi >= 3*day {
		return "days", day
	}
	if hi >= 3*3600 {
		return "hours", 3600
	}
	return "minutes", 60
}

func maxInt(vs []int) int {
	m := 0
	for _, v := range vs {
		m = max(m, v)
	}
	return m
}

// niceMax is an axis top at or above v: 1, 2 or 5 times a power of ten.
func niceMax(v float64) int {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return int(m * p)
		}
	}
	return int(10 * p)
}
