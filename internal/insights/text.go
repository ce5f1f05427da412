package insights

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitops-pipe/pipe/internal/state"
)

// TextOptions tune WriteText.
type TextOptions struct {
	// Color paints the bands with ANSI colours.
	Color bool
}

// WriteText writes the report for a terminal: the four metrics overall
// with their bands, the counts behind them and sparklines of the series,
// then one line per application.
func WriteText(w io.Writer, r *Report, o TextOptions) error {
	fmt.Fprintf(w, "DORA metrics, %s (%s), by %s\n\n", window(r), days(r), r.By)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	m := r.Overall
	zero := m.ChangeFailureRate.Completed == 0
	f := m.DeploymentFrequency
	fmt.Fprintf(tw, "Deployment frequency\t%s\t%s\t%s\t%s\n", frequency(f.PerDay, zero), band(f.Band, o), frequencyCounts(f), spark(intsToFloats(f.Series)))
	c := m.ChangeFailureRate
	fmt.Fprintf(tw, "Change failure rate\t%s\t%s\t%s\t%s\n", percent(c.Rate, c.Completed), band(c.Band, o), failureCounts(c), spark(c.Series))
	l := m.LeadTime
	fmt.Fprintf(tw, "Lead time for changes\t%s\t%s\t%s\t%s\n", median(l.MedianSeconds, l.Count), band(l.Band, o), leadCounts(l), spark(l.Series))
	t := m.TimeToRestore
	fmt.Fprintf(tw, "Time to restore service\t%s\t%s\t%s\t\n", median(t.MedianSeconds, t.Restored), band(t.Band, o), restoreCounts(t))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Apps) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "APP\tKIND\tDEPLOYS\tFREQUENCY\tFAILURE RATE\tLEAD TIME\tTIME TO RESTORE\t")
		for _, a := range r.Apps {
			m := a.Metrics
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s %s\t%s %s\t%s %s\t%s %s\t\n", state.SafeText(a.App), state.SafeText(a.Kind), m.ChangeFailureRate.Completed,
				frequency(m.DeploymentFrequency.PerDay, false), band(m.DeploymentFrequency.Band, o),
				percent(m.ChangeFailureRate.Rate, m.ChangeFailureRate.Completed), band(m.ChangeFailureRate.Band, o),
				median(m.LeadTime.MedianSeconds, m.LeadTime.Count), band(m.LeadTime.Band, o),
				median(m.TimeToRestore.MedianSeconds, m.TimeToRestore.Restored), band(m.TimeToRestore.Band, o))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s", n)
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
	}
	return nil
}

func window(r *Report) string {
	return r.Since.Format(time.DateOnly) + " to " + r.Until.Add(-time.Second).Format(time.DateOnly)
}

func days(r *Report) string {
	d := r.Until.Sub(r.Since).Hours() / 24
	if d == math.Trunc(d) {
		return plural(int(d), "day")
	}
	return fmt.Sprintf("%.1f days", d)
}

// frequency says a rate of deployments in the unit that reads best.
func frequency(perDay float64, none bool) string {
	switch {
	case none:
		return "-"
	case perDay >= 1:
		return fmt.Sprintf("%.1f/day", perDay)
	case perDay >= 1.0/7:
		return fmt.Sprintf("%.1f/week", perDay*7)
	}
	return fmt.Sprintf("%.1f/month", perDay*30)
}

func percent(rate float64, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", rate*100)
}

func median(seconds float64, of int) string {
	if of == 0 {
		return "-"
	}
	return formatDuration(seconds)
}

func frequencyCounts(f DeploymentFrequency) string {
	return fmt.Sprintf("%d successful on %s", f.Successful, plural(f.DeployDays, "day"))
}

func failureCounts(c ChangeFailureRate) string {
	s := fmt.Sprintf("%d of %d failed", c.Failed, c.Completed)
	if c.RolledBack > 0 {
		s += fmt.Sprintf(" (%d rolled back)", c.RolledBack)
	}
	if c.Cancelled > 0 {
		s += fmt.Sprintf(", %d cancelled", c.Cancelled)
	}
	return s
}

func leadCounts(l Durations) string {
	if l.Count == 0 {
		return "no commit in " + plural(l.Deployments, "deployment")
	}
	s := fmt.Sprintf("p90 %s over %s in %s", formatDuration(l.P90Seconds), plural(l.Count, "commit"), plural(l.Deployments, "deployment"))
	if l.Clamped > 0 {
		s += fmt.Sprintf(" (%d committed after deploying: clock skew, counted as 0)", l.Clamped)
	}
	return s
}

func restoreCounts(t TimeToRestore) string {
	if t.Incidents == 0 {
		return "no failure"
	}
	s := "over " + plural(t.Incidents, "incident")
	if t.Restored > 0 {
		s = fmt.Sprintf("p90 %s %s", formatDuration(t.P90Seconds), s)
	}
	if t.Open > 0 {
		s += fmt.Sprintf(" (%d not restored)", t.Open)
	}
	return s
}

func band(b Band, o TextOptions) string {
	if b == BandNone {
		return "no data"
	}
	if !o.Color {
		return string(b)
	}
	code := map[Band]string{BandElite: "32", BandHigh: "36", BandMedium: "33", BandLow: "31"}[b]
	return "\x1b[" + code + "m" + string(b) + "\x1b[0m"
}

// spark draws a series as a sparkline; negative values (no data) are
// spaces.
func spark(vs []float64) string {
	const ticks = "▁▂▃▄▅▆▇█"
	runes := []rune(ticks)
	hi := 0.0
	for _, v := range vs {
		hi = max(hi, v)
	}
	var b strings.Builder
	for _, v := range vs {
		switch {
		case v < 0:
			b.WriteRune(' ')
		case hi == 0:
			b.WriteRune(runes[0])
		default:
			b.WriteRune(runes[int(math.Round(v/hi*float64(len(runes)-1)))])
		}
	}
	return b.String()
}

func intsToFloats(vs []int) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = float64(v)
	}
	return out
}

// plural is "1 day", "2 days".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
