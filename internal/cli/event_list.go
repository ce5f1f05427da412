package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/state"
)

// listedEvent is one event of `pipe event list -o json`.
type listedEvent struct {
	*state.RegisteredEvent
	On        string            `json:"on"`
	Handlings []*state.Handling `json:"handlings"`
}

func (a *app) eventListCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List registered events, newest first, and what the watchers did with them",
		Example: `  pipe event list
  pipe event list --name web-image -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			output, err := outputFormat(v, "text", "json")
			if err != nil {
				return err
			}
			st, cleanup, err := a.openEventStore(v, false)
			if err != nil {
				return err
			}
			defer cleanup()
			log, err := st.Events(cmd.Context())
			if err != nil {
				return stateError(err)
			}
			name, limit := v.GetString("name"), v.GetInt("limit")
			out := []listedEvent{}
			for _, ev := range log.Events {
				if name != "" && ev.Name != name {
					continue
				}
				if limit > 0 && len(out) >= limit {
					break
				}
				hs := log.Handlings[ev.ID]
				if hs == nil {
					hs = []*state.Handling{}
				}
				out = append(out, listedEvent{ev, ev.On, hs})
			}
			if output == "json" {
				return writeJSON(a.out, out)
			}
			if len(out) == 0 {
				fmt.Fprintln(a.err, "no events registered")
				return nil
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REGISTERED\tEVENT\tVALUE\tSTATUS\tID")
			for _, e := range out {
				fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\n", e.CreatedAt.UTC().Format(time.RFC3339), state.SafeText(e.Name), labelSuffix(e.Labels),
					clipValue(e.Value), state.SafeText(handlingSummary(e.Handlings)), state.SafeText(e.ID))
			}
			return tw.Flush()
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, false)
	cmd.Flags().String("name", "", "only the events of this name")
	cmd.Flags().Int("limit", 50, "show at most this many events (0: all)")
	cmd.Flags().String("repo-url", "", "list the events of this repository instead of this clone's remote; env PIPE_REPO_URL")
	cmd.Flags().String("notes-ref", "", "the notes ref prefix of the repository with --repo-url (default refs/notes/pipe)")
	return cmd
}

// handlingSummary says what the watchers did: "not handled", or each
// status with the number of watchers, e.g. "SUCCESS (2)".
func handlingSummary(hs []*state.Handling) string {
	if len(hs) == 0 {
		return "not handled"
	}
	counts := map[string]int{}
	var order []string
	for _, h := range hs {
		if counts[h.Status] == 0 {
			order = append(order, h.Status)
		}
		counts[h.Status]++
	}
	parts := make([]string, len(order))
	for i, s := range order {
		parts[i] = fmt.Sprintf("%s (%d)", s, counts[s])
	}
	return strings.Join(parts, ", ")
}

func clipValue(v string) string {
	q := strconv.Quote(v)
	if len(q) > 60 {
		return q[:57] + "..."
	}
	return q
}
