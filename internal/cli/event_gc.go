package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) eventGCCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove old events and their records, keeping the newest of each name and labels",
		Long: `Remove the events registered before --older-than ago, with what the
watchers did with them. The newest event of each name, labels and branch is
always kept: it is what the next watch compares against, so nothing is
applied again. Run it on a schedule (the events ref is read whole by every
watch and refused past 64 MiB).`,
		Example: `  pipe event gc --older-than 720h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			age := v.GetDuration("older-than")
			if age <= 0 {
				return usageError("--older-than must be positive, e.g. 720h")
			}
			st, cleanup, err := a.openEventStore(v, true)
			if err != nil {
				return err
			}
			defer cleanup()
			n, err := st.PruneEvents(cmd.Context(), a.env.Now().Add(-age))
			if err != nil {
				return stateError(err)
			}
			fmt.Fprintf(a.out, "removed %d event(s) registered more than %s ago\n", n, age)
			return nil
		},
	}
	cmd.Flags().Duration("older-than", 30*24*time.Hour, "remove events registered longer ago than this")
	cmd.Flags().String("repo-url", "", "the GitOps repository, instead of this clone's remote; env PIPE_REPO_URL")
	cmd.Flags().String("notes-ref", "", "the notes ref prefix of the repository with --repo-url (default refs/notes/pipe)")
	addStoreFlags(cmd, true)
	return cmd
}
