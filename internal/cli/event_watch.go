package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/eventwatch"
	"github.com/gitops-pipe/pipe/internal/state"
)

func (a *app) eventWatchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Apply the registered events to the files their watchers name, in commits or pull requests",
		Long: `For each watcher (an application's eventWatcher, or an event of a .pipe/
EventWatcher file) whose event has a value it has not handled yet, write
the value into the watched fields and commit it on top of the remote
branch; with makePullRequest: true, push it to the event's branch
pipe-event/<name>-<id> and open or update its pull request (GitHub) or
merge request (GitLab). What was done is recorded with the events, so the
next run does nothing. Older events superseded by a newer one are recorded
OUTDATED.

Files are edited in place: only the replaced value changes; comments,
quoting, key order and indentation stay. The commit is made on the remote
branch's tip, not in the working tree; if the branch moved meanwhile, the
change is made again on its new tip. Run it on a schedule, or right after
` + "`pipe event register`" + `. Watchers are read from this checkout.`,
		Example: `  pipe event watch
  pipe event watch --dry-run -o json
  pipe event watch --branch main --pr-label release`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			output, err := outputFormat(v, "text", "json")
			if err != nil {
				return err
			}
			st, root, err := a.openStore(v, !v.GetBool("dry-run"))
			if err != nil {
				return err
			}
			defer st.Close()
			watchers, err := a.loadWatchers(root)
			if err != nil {
				return err
			}
			o := eventwatch.Options{
				Store: st, Watchers: watchers, Branch: v.GetString("branch"), DryRun: v.GetBool("dry-run"),
				MaxAge: v.GetDuration("max-age"), Labels: v.GetStringSlice("pr-label"), Now: a.env.Now,
				By: a.ci.RunURL, RunURL: a.ci.RunURL,
				Log: func(format string, args ...any) { fmt.Fprintf(a.err, format+"\n", args...) },
			}
			if o.By == "" {
				o.By = a.actor()
			}
			if !o.DryRun && needsPullRequests(watchers) {
				if o.PullRequests, err = a.eventPullRequester(v); err != nil {
					return err
				}
			}
			res, runErr := eventwatch.Run(cmd.Context(), o)
			if res != nil && (runErr == nil || len(res.Items) > 0) {
				if output == "json" {
					if err := writeJSON(a.out, res); err != nil {
						return err
					}
				} else {
					a.printWatch(res, o.DryRun)
				}
			}
			if runErr != nil {
				return stateError(runErr)
			}
			if res.Failed() {
				return &Error{Code: ExitFailed, Summary: "some events could not be applied", Hint: "see the FAILURE and ERROR lines above"}
			}
			return nil
		},
	}
	f := cmd.Flags()
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, false)
	f.String("branch", "", "the branch to update (default: the remote's default branch); env PIPE_BRANCH")
	f.Bool("dry-run", false, "show what would change; push and record nothing")
	f.Duration("max-age", 0, "record events older than this as OUTDATED instead of applying them (e.g. 24h; 0: no limit)")
	f.StringSlice("pr-label", []string{"pipe-event"}, "labels of the pull/merge requests (repeat or comma-separate)")
	f.String("forge", "auto", "where makePullRequest opens requests: auto (the CI system, else the token set), github, gitlab, none (push the branch only)")
	return cmd
}

func needsPullRequests(ws []eventwatch.Watcher) bool {
	for _, w := range ws {
		if w.MakePullRequest {
			return true
		}
	}
	return false
}

// loadWatchers reads the watchers of the checkout. A file with watchers
// and configuration errors stops the run (exit 2): its watchers would be
// read wrong.
func (a *app) loadWatchers(root string) ([]eventwatch.Watcher, error) {
	repo, err := config.LoadRepo(root)
	if err != nil {
		return nil, &Error{Code: ExitUsage, Summary: "cannot read the configuration", Detail: err.Error()}
	}
	var bad []string
	for _, f := range repo.Files {
		if f.Valid() || !hasWatchers(f) {
			continue
		}
		for _, d := range f.Diags.Errors() {
			bad = append(bad, d.String())
		}
	}
	if len(bad) > 0 {
		return nil, &Error{Code: ExitUsage, Summary: "event watcher configuration has errors", Detail: strings.Join(bad, "\n"),
			Hint: "fix them (pipe validate); nothing was changed"}
	}
	ws, err := eventwatch.Collect(repo)
	if err != nil {
		return nil, &Error{Code: ExitUsage, Summary: "invalid event watcher", Detail: err.Error()}
	}
	return ws, nil
}

func hasWatchers(f *config.File) bool {
	switch s := f.Spec.(type) {
	case *config.EventWatcherSpec:
		return true
	case config.AppSpec:
		return len(s.Generic().EventWatcher) > 0
	}
	return false
}

// printWatch writes the run's result as text: one line per watcher's event.
func (a *app) printWatch(res *eventwatch.Result, dry bool) {
	outdated := 0
	for _, it := range res.Items {
		if it.Status == state.HandledOutdated && !strings.Contains(it.Message, "max-age") {
			outdated++
			continue
		}
		ev := it.Event
		fmt.Fprintf(a.out, "%-8s %s%s = %s  %s\n", it.Status, state.SafeText(ev.Name), labelSuffix(ev.Labels), strconv.Quote(ev.Value), it.Source)
		for _, c := range it.Changes {
			switch {
			case c.Error != "":
				fmt.Fprintf(a.out, "         ! %s\n", state.SafeText(c.Error))
			case c.Changed:
				fmt.Fprintf(a.out, "         %s:%s %s: %s -> %s\n", c.File, lines(c.Lines), c.Expr, quoteAll(c.Old), strconv.Quote(ev.Value))
			default:
				fmt.Fprintf(a.out, "         %s %s: already %s\n", c.File, c.Expr, strconv.Quote(ev.Value))
			}
		}
		var where []string
		if it.Commit != "" {
			where = append(where, "commit "+it.Commit[:12]+" on "+it.Branch)
		}
		if it.PullRequest != "" {
			where = append(where, it.PullRequest)
		}
		if it.Message != "" && it.Status != state.HandledFailure {
			where = append(where, state.SafeText(it.Message))
		} else if it.Message != "" && len(it.Changes) == 0 {
			where = append(where, state.SafeText(it.Message))
		}
		if len(where) > 0 {
			fmt.Fprintf(a.out, "         %s\n", strings.Join(where, "; "))
		}
	}
	if outdated > 0 {
		fmt.Fprintf(a.out, "%d older event(s) superseded by newer ones: recorded OUTDATED (pipe event list shows them)\n", outdated)
	}
	if len(res.Items) == 0 {
		fmt.Fprintln(a.out, "no events for the watchers of this repository")
	}
	if dry {
		fmt.Fprintln(a.err, "dry run: nothing was pushed or recorded")
	}
}

func lines(ls []int) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = strconv.Itoa(l)
	}
	return strings.Join(s, ",")
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}
