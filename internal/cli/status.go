package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/state"
)

type statusOptions struct {
	apps   []string
	output string
}

func (a *app) statusCommand() *cobra.Command {
	opts := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status [APP...]",
		Short: "Show each application's last deployment, running deployment and lock",
		Long: `For each application (all those with records when none is named): the
last deployment, the last successful commit, whether a deployment is
running or waiting for approval, and who holds the lock.`,
		Example: `  pipe status
  pipe status web api -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.apps = args
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			st, _, err := a.openStore(v, false)
			if err != nil {
				return err
			}
			defer st.Close()
			apps := opts.apps
			if len(apps) == 0 {
				if apps, err = st.Apps(cmd.Context()); err != nil {
					return stateError(err)
				}
			}
			statuses := []*state.AppStatus{}
			for _, app := range apps {
				s, err := st.Status(cmd.Context(), app)
				if err != nil {
					return stateError(err)
				}
				statuses = append(statuses, s)
			}
			if opts.output == "json" {
				return writeJSON(a.out, statuses)
			}
			if len(statuses) == 0 {
				fmt.Fprintln(a.err, "no deployments recorded")
				return nil
			}
			return a.printStatus(statuses)
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, false)
	return cmd
}

// printStatus writes the statuses as a table. Record and lock fields come
// from refs anyone with push access may write, and app names from ref
// names (%XX-decoded): each is escaped (state.SafeText).
func (a *app) printStatus(statuses []*state.AppStatus) error {
	now := a.env.Now()
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tLAST\tSTATUS\tLAST SUCCESSFUL\tACTIVE\tLOCK")
	for _, s := range statuses {
		last, status, ok, active, lock := "-", "-", "-", "-", "-"
		if s.Last != nil {
			last = state.SafeText(s.Last.ID)
			status = state.SafeText(string(s.Last.Status))
		}
		if s.LastSuccessful != nil {
			ok = shortHash(s.LastSuccessful.Target.Hash)
		}
		if s.Active != nil {
			active = state.SafeText(fmt.Sprintf("%s (%s)", s.Active.Status, s.Active.ID))
		}
		if s.Lock != nil {
			lock = s.Lock.Owner
			if s.Lock.CIRunURL != "" {
				lock += " " + s.Lock.CIRunURL
			}
			lock = state.SafeText(lock)
			if s.LockExpired {
				lock += " (lease expired " + now.Sub(s.Lock.LeaseExpiresAt).Round(time.Second).String() + " ago)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", state.SafeText(s.App), last, status, ok, active, lock)
	}
	return tw.Flush()
}
