package cli

import (
	"fmt"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/state"
)

type unlockOptions struct {
	app    string
	force  bool
	reason string
	output string
}

func (a *app) unlockCommand() *cobra.Command {
	opts := &unlockOptions{}
	cmd := &cobra.Command{
		Use:   "unlock APP --force",
		Short: "Release an application's deployment lock held by someone else",
		Long: `Release the lock of an application, for operators: when a CI job died
without releasing it and you cannot wait for its lease to expire. The
previous holder is printed and the release is recorded in its deployment
record. --force is required, since the holder may still be running.`,
		Example: `  pipe unlock web --force --reason "runner lost"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.app = args[0]
			opts.force = v.GetBool("force")
			opts.reason = v.GetString("reason")
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			if !opts.force {
				return &Error{Code: ExitUsage, Summary: "unlock needs --force",
					Hint: "the holder may still be deploying; check `pipe status " + opts.app + "` first"}
			}
			st, _, err := a.openStore(v, true)
			if err != nil {
				return err
			}
			defer st.Close()
			prev, err := st.ForceUnlock(cmd.Context(), opts.app, state.ForceUnlockRequest{
				Actor: a.actor(), Reason: opts.reason, CIRunURL: a.ci.RunURL,
			})
			if err != nil {
				return stateError(err)
			}
			if opts.output == "json" {
				return writeJSON(a.out, struct {
					App      string          `json:"app"`
					Released *state.LockInfo `json:"released"`
				}{opts.app, prev})
			}
			// The holder is what the lock ref says: escaped, like the app name.
			app := state.SafeText(opts.app)
			if prev == nil {
				fmt.Fprintf(a.out, "%s was not locked\n", app)
				return nil
			}
			fmt.Fprintf(a.out, "released the lock of %s held by %s", app, state.SafeText(prev.Owner))
			if prev.CIRunURL != "" {
				fmt.Fprintf(a.out, " (%s)", state.SafeText(prev.CIRunURL))
			}
			fmt.Fprintln(a.out)
			return nil
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, true)
	cmd.Flags().Bool("force", false, "release the lock even though its holder may still be running")
	cmd.Flags().String("reason", "", "why, recorded with the release")
	return cmd
}

// actor names who runs pipe: the CI actor, else the local user.
func (a *app) actor() string {
	if a.ci.Actor != "" {
		return a.ci.Actor
	}
	for _, k := range []string{"PIPE_ACTOR", "USER", "USERNAME"} {
		if v := a.env.Getenv(k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}
