package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/platform/registry"
	"github.com/gitops-pipe/pipe/internal/state"
)

func (a *app) cancelCommand() *cobra.Command {
	opts := &syncOptions{resume: true}
	var pflags *registry.Flags
	cmd := &cobra.Command{
		Use:   "cancel APP",
		Short: "Cancel an application's unfinished pipeline deployment and roll it back",
		Long: `Cancel the app's unfinished pipeline deployment: one paused for approval
(exit 4 of pipe sync), or one whose job was killed. pipe takes the app's
lock (a killed job's lease must have expired), records the stage it
stopped at as CANCELLED, rolls back when autoRollback is on (canary and
baseline removed, the last successful commit re-applied), and records the
deployment CANCELLED.

To stop a deployment that is running, cancel its job (SIGINT/SIGTERM do
the same).`,
		Example: `  pipe cancel web
  pipe cancel web --reason "bad canary metrics"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.app = args[0]
			opts.forceConflicts = v.GetBool("force-conflicts")
			opts.lease = v.GetDuration("lease")
			opts.grace = a.grace(v)
			opts.cancel = "cancelled by " + a.actor()
			if r := v.GetString("reason"); r != "" {
				opts.cancel += ": " + r
			}
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			st, root, err := a.openStore(v, true)
			if err != nil {
				return err
			}
			defer st.Close()
			return a.runSync(cmd, v, root, st, pflags, opts)
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, true)
	pflags = addPlatformFlags(cmd)
	cmd.Flags().String("reason", "", "why, for the record")
	cmd.Flags().Bool("force-conflicts", false, "take over fields that other field managers own while rolling back")
	cmd.Flags().Duration("lease", state.DefaultLease, "lease of the app's lock while cancelling")
	addGraceFlag(cmd)
	return cmd
}

// cancelError maps the outcome of `pipe cancel`: a deployment ended
// CANCELLED (and rolled back when asked) is success.
func cancelError(err error) error {
	var f *execute.Failure
	if errors.As(err, &f) && f.Status == state.StatusCancelled && (f.RolledBack || f.Err == nil) {
		return nil
	}
	if errors.As(err, &f) {
		return &Error{Code: ExitFailed, Summary: fmt.Sprintf("the deployment was recorded %s, but: %s", f.Status, f.Reason)}
	}
	return syncError(err)
}
