package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/state"
)

func (a *app) gcCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gc APP...",
		Short: "Fold an application's old deployment records into a summary",
		Long: fmt.Sprintf(`Compact the deployment records of applications: every record but the
latest --keep (default %d), the unfinished ones (a sync to resume or
cancel) and the last successful one (the commit running now) is removed
from the app's notes and counted in the summary file %s of its
notes tree, which `+"`pipe history`"+` reports. The folded records stay in the notes
ref's history: the summary names the notes commit that still holds them.

Run it when a command says an app's notes are over their size limit (%d MiB
per note, %d MiB per app), or to keep reads fast. It is a write like a
deployment's: pushed by compare-and-swap, merged and retried over concurrent
writers. Notes up to 8 times the limit can be compacted.`,
			state.DefaultKeep, "pipe-summary.json", state.MaxNoteSize>>20, state.MaxAppNotesSize>>20),
		Example: `  pipe gc web
  pipe gc web api --keep 50
  pipe gc web --no-push -o json   # see what would be folded, locally`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			keep := v.GetInt("keep")
			output, err := outputFormat(v, "text", "json")
			if err != nil {
				return err
			}
			if keep < 1 {
				return usageError("--keep must be at least 1")
			}
			st, _, err := a.openStore(v, true)
			if err != nil {
				return err
			}
			defer st.Close()
			results := []*state.CompactResult{}
			for _, app := range args {
				res, err := st.Compact(cmd.Context(), app, state.CompactOptions{Keep: keep, Actor: a.actor()})
				if err != nil {
					return stateError(err)
				}
				results = append(results, res)
				if output == "text" {
					a.printCompaction(res)
				}
			}
			if output == "json" {
				return writeJSON(a.out, results)
			}
			return nil
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, true)
	cmd.Flags().Int("keep", state.DefaultKeep, "how many of the latest deployments to keep as they are")
	return cmd
}

func (a *app) printCompaction(res *state.CompactResult) {
	app := state.SafeText(res.App)
	switch {
	case res.Before == "":
		fmt.Fprintf(a.out, "%s: no deployments recorded\n", app)
	case res.Folded == 0:
		fmt.Fprintf(a.out, "%s: nothing to fold (%d records kept)\n", app, res.Kept)
	default:
		fmt.Fprintf(a.out, "%s: folded %d record(s), kept %d; the folded records stay in notes commit %s\n",
			app, res.Folded, res.Kept, res.Before)
	}
	if res.DroppedText > 0 {
		fmt.Fprintf(a.out, "%s: %d paragraph(s) of text that were not records were dropped to bring notes under the size limit\n", app, res.DroppedText)
	}
}
