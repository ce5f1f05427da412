package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/state"
)

type historyOptions struct {
	app    string
	limit  int
	output string
}

func (a *app) historyCommand() *cobra.Command {
	opts := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history APP",
		Short: "Show the deployments of an application, newest first",
		Long: `Show the deployments of an application recorded in the repository's Git
notes, newest first: id, commit, status, strategy, duration and trigger.
Records are fetched from the remote first (CI checkouts do not fetch notes).
Text from the notes is shown with control characters escaped (\x1b). When
every record was shown, a last line on stderr counts those folded by
` + "`pipe gc`" + `.`,
		Example: `  pipe history web
  pipe history web --limit 5 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.app = args[0]
			opts.limit = v.GetInt("limit")
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			if opts.limit < 1 {
				return usageError("--limit must be at least 1")
			}
			st, _, err := a.openStore(v, false)
			if err != nil {
				return err
			}
			defer st.Close()
			recs, err := st.History(cmd.Context(), opts.app, opts.limit)
			if err != nil {
				return stateError(err)
			}
			if opts.output == "json" {
				if recs == nil {
					recs = []*state.Record{}
				}
				return writeJSON(a.out, recs)
			}
			// The whole history was shown: say what compactions folded.
			var sum *state.Summary
			if len(recs) < opts.limit {
				if sum, err = st.Summary(cmd.Context(), opts.app); err != nil {
					return stateError(err)
				}
			}
			if len(recs) == 0 {
				fmt.Fprintf(a.err, "no deployments of %s recorded\n", state.SafeText(opts.app))
			} else if err := a.printHistory(recs); err != nil {
				return err
			}
			if sum != nil {
				fmt.Fprintln(a.err, sum.Describe())
			}
			return nil
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, false)
	cmd.Flags().Int("limit", 20, "how many deployments to show")
	return cmd
}

// printHistory writes the records as a table. Every field comes from notes
// anyone with push access may write: each is escaped (state.SafeText).
func (a *app) printHistory(recs []*state.Record) error {
	now := a.env.Now()
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCOMMIT\tSTATUS\tSTRATEGY\tSTARTED\tDURATION\tTRIGGER")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", state.SafeText(r.ID), shortHash(r.Target.Hash),
			state.SafeText(string(r.Status)), orDash(state.SafeText(string(r.Strategy))),
			r.CreatedAt.UTC().Format(time.RFC3339), r.Duration(now).Round(time.Second), describeTrigger(r.Trigger))
	}
	return tw.Flush()
}

// shortHash is the first 8 characters of a commit hash, escaped.
func shortHash(h string) string {
	if len(h) > 8 {
		h = h[:8]
	}
	return orDash(state.SafeText(h))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// describeTrigger says who or what started a deployment, escaped.
func describeTrigger(t state.Trigger) string {
	s := string(t.Kind)
	if t.Actor != "" {
		s += " by " + t.Actor
	}
	return orDash(state.SafeText(s))
}
