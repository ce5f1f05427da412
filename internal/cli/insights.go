package cli

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/insights"
	"github.com/gitops-pipe/pipe/internal/report"
	"github.com/gitops-pipe/pipe/internal/source"
)

func (a *app) insightsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "insights [APP...]",
		Short: "The four DORA metrics of the deployments, from the records",
		Long: `Compute the four DORA metrics from the deployment records in Git notes and
the repository's history, per application and overall, each with its DORA
performance band (elite, high, medium, low) and the counts behind it:

  deployment frequency     successful deployments per day/week/month
  change failure rate      failed (rolled back or not) / completed deployments
  lead time for changes    per commit: the deployment's end - the commit time,
                           for the commits changing the app's directory that
                           a deployment brought (median and p90)
  time to restore service  from a failed deployment's start to its
                           successful rollback, else to the next successful
                           deployment of the app (median and p90)

-o markdown writes Markdown with Mermaid charts (GitHub and GitLab render
them); in GitHub Actions it is also appended to the job summary. --html
writes a self-contained page with SVG charts. See docs/insights.md for the
definitions and the JSON schema.`,
		Example: `  pipe insights
  pipe insights web api --since 30d --by day
  pipe insights --label team=payments --since 2026-01-01 --until 2026-03-31 -o json
  pipe insights --since 365d --by month --html insights.html`,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			output, err := outputFormat(v, "text", "json", "markdown")
			if err != nil {
				return err
			}
			now := time.Now()
			if a.env.Now != nil {
				now = a.env.Now()
			}
			until := now.UTC() // days are UTC days, whatever TZ says
			if s := v.GetString("until"); s != "" {
				if until, err = parseUntil(s); err != nil {
					return usageError("--until: %v", err)
				}
			}
			since, err := parseSince(v.GetString("since"), until)
			if err != nil {
				return usageError("--since: %v", err)
			}
			if !until.After(since) {
				return usageError("--since %s is not before --until %s: the window is empty", v.GetString("since"), orNow(v.GetString("until")))
			}
			by, err := insights.ParsePeriod(v.GetString("by"))
			if err != nil {
				return usageError("--by: %v", err)
			}
			labels, err := parseLabelFilter(v.GetStringSlice("label"))
			if err != nil {
				return err
			}
			return a.runInsights(cmd, v, v.GetString("html"), output, args, v.GetString("kind"), labels,
				insights.Options{Since: since, Until: until, By: by})
		},
	}
	addOutputFlag(cmd, "text", "json", "markdown")
	addStoreFlags(cmd, false)
	cmd.Flags().String("since", "90d", "start of the window: a duration back from --until (90d, 12w, 72h) or a date (2026-01-01)")
	cmd.Flags().String("until", "", "end of the window: a date (included) or a time (RFC 3339); default now")
	cmd.Flags().String("by", "week", "width of the series' buckets: day, week or month")
	cmd.Flags().StringSlice("label", nil, "only applications with this label (k=v; repeat for all of several)")
	cmd.Flags().String("kind", "", "only applications of this kind (e.g. KubernetesApp)")
	cmd.Flags().String("html", "", "also write a self-contained HTML page with charts to this file")
	return cmd
}

func (a *app) runInsights(cmd *cobra.Command, v *viper.Viper, htmlFile, output string, names []string, kind string, labels map[string]string, opts insights.Options) error {
	ctx := cmd.Context()
	root, repo, err := a.openRepo()
	if err != nil {
		return err
	}
	git, err := source.Open(root)
	if err != nil {
		return sourceError(err)
	}
	defer git.Close()
	st, _, err := a.openStore(v, false)
	if err != nil {
		return err
	}
	defer st.Close()

	// The applications: configured ones, and those with records only
	// (removed from the config since).
	configured := map[string]*config.App{}
	for _, ap := range repo.Apps {
		configured[ap.Name] = ap
	}
	recorded, err := st.Apps(ctx)
	if err != nil {
		return stateError(err)
	}
	all := map[string]bool{}
	for n := range configured {
		all[n] = true
	}
	for _, n := range recorded {
		all[n] = true
	}
	for _, n := range names {
		if !all[n] {
			return &Error{Code: ExitUsage, Summary: fmt.Sprintf("no application named %q, configured or recorded", n), Hint: "`pipe apps` lists the applications"}
		}
	}
	var apps []insights.App
	folded := 0
	for _, n := range slices.Sorted(maps.Keys(all)) {
		if len(names) > 0 && !slices.Contains(names, n) {
			continue
		}
		ia := insights.App{Name: n}
		if ap := configured[n]; ap != nil {
			ia.Kind, ia.Labels, ia.Dir = string(ap.Kind), ap.Labels, ap.Dir
		}
		if !hasLabels(ia.Labels, labels) {
			continue
		}
		if ia.Records, err = st.History(ctx, n, math.MaxInt); err != nil {
			return stateError(err)
		}
		if ia.Kind == "" { // an app no longer configured: its records say
			for _, r := range ia.Records {
				if r.Kind != "" {
					ia.Kind = r.Kind
					break
				}
			}
		}
		if kind != "" && !strings.EqualFold(ia.Kind, kind) {
			continue
		}
		if sum, err := st.Summary(ctx, n); err == nil && sum != nil {
			folded += sum.Folded
		}
		apps = append(apps, ia)
	}
	head, err := git.ResolveRevision("HEAD")
	if err != nil {
		return sourceError(err)
	}
	opts.History = insights.RepoHistory{Repo: git, HeadHash: head.Hash}
	rep, err := insights.Compute(apps, opts)
	if err != nil {
		return usageError("%v", err)
	}
	if folded > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d older deployment(s) folded by pipe gc are not counted", folded))
	}

	if htmlFile != "" {
		var buf bytes.Buffer
		if err := insights.WriteHTML(&buf, rep); err != nil {
			return err
		}
		if err := os.WriteFile(htmlFile, a.secrets.MaskBytes(buf.Bytes()), 0o644); err != nil {
			return &Error{Code: ExitFailed, Summary: "cannot write the HTML report", Detail: err.Error()}
		}
		fmt.Fprintf(a.err, "wrote %s\n", htmlFile)
	}
	if a.ci.Provider == ci.GitHub && a.ci.StepSummaryPath != "" {
		var md bytes.Buffer
		if err := insights.WriteMarkdown(&md, rep); err != nil {
			return err
		}
		if err := report.AppendStepSummary(a.ci.StepSummaryPath, a.mask(md.String())+"\n"); err != nil {
			fmt.Fprintf(a.err, "%s writing the job summary: %v\n", a.style.Yellow("warning:"), err)
		}
	}
	switch output {
	case "json":
		return writeJSON(a.out, rep)
	case "markdown":
		return insights.WriteMarkdown(a.out, rep)
	}
	return insights.WriteText(a.out, rep, insights.TextOptions{Color: a.ostyl.color})
}

// parseSince reads --since: a duration back from until (90d, 12w, 72h)
// or a date (the start of that day, UTC) or a time.
func parseSince(s string, until time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, unit := strings.TrimRight(s, "dw"), strings.TrimLeft(s, "0123456789"); n != "" && (unit == "d" || unit == "w") {
		k, err := strconv.Atoi(n)
		if err != nil || k <= 0 {
			return time.Time{}, fmt.Errorf("%q is not a number of days or weeks", s)
		}
		if unit == "w" {
			k *= 7
		}
		return until.AddDate(0, 0, -k), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return until.Add(-d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (90d, 12w, 72h) nor a date (2026-01-01)", s)
}

// parseUntil reads --until: a date counts whole (the window ends at the
// next midnight, UTC), a time as it is.
func parseUntil(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a date (2026-03-31) nor a time (2026-03-31T18:00:00Z)", s)
}

func orNow(s string) string {
	if s == "" {
		return "(now)"
	}
	return s
}

// parseLabelFilter reads --label k=v values.
func parseLabelFilter(vs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range vs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError("--label %q: write key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
