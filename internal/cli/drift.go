package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/notify"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/platform/registry"
	"github.com/gitops-pipe/pipe/internal/report"
	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/state"
)

type driftOptions struct {
	apps     []string
	output   string
	shard    drift.Shard
	parallel int
	fix      bool
	record   bool
	verbose  bool
	lease    time.Duration
	grace    time.Duration
	issue    bool
	dotenv   string
}

func (a *app) driftCommand() *cobra.Command {
	opts := &driftOptions{}
	var pflags *registry.Flags
	cmd := &cobra.Command{
		Use:   "drift [APP...]",
		Short: "Find applications whose live state no longer matches Git",
		Long: `Compare the live state of applications (all of them without arguments) with
Git at the working tree's HEAD: for each object, what a sync would leave in
the cluster (a forced server-side dry-run apply, so server defaults are not
drift) against the live object, plus the fields other field managers added
that Git does not set. Reported per application: objects added (in Git,
not live), deleted (live, not in Git; those a prune would delete) and
changed, with the drifted fields. Secret and ConfigMap values are masked.

driftDetection.ignoreFields (apiVersion:kind:namespace:name#path) and the
pipecd.dev/ignore-drift-detection: "true" annotation are honoured.

Live objects are listed once per resource type for all applications of a
cluster; --shard i/n checks one part of the applications (by a hash of
their names) so that a large repository can be split over CI jobs.

A change of an application's drift state (drift began, drift ended) is
recorded as an event on its current deployment record (pipe history);
unchanged states write nothing. In GitHub Actions the report is added to
the job summary, and the step outputs drifted (true/false), drifted-apps
and failed-apps (JSON arrays) and checked-count, in-sync-count,
drifted-count, failed-count and skipped-count are written. --dotenv writes
the same values as a GitLab dotenv report (PIPE_DRIFTED,
PIPE_DRIFTED_APPS, PIPE_FAILED_APPS, PIPE_CHECKED_COUNT...).

With --issue, one issue per drifted application (label pipe-drift) holds
its drift and the command that fixes it; it is updated while the drift
changes and closed with a comment when the application is back in sync.
GitHub issues need GITHUB_TOKEN and GITHUB_REPOSITORY; in GitLab CI the
project's issues are used, with GITLAB_TOKEN (or CI_JOB_TOKEN).

With --fix (or trigger.onOutOfSync enabled in the app's config, once
minWindow has passed since its last deployment), drifted applications are
synced (quick sync taking back fields other managers changed, trigger
"drift").

Exit 0 when every application is in sync, 3 when any drifted, 1 when a
check (or a fix) failed.`,
		Example: `  pipe drift
  pipe drift web api -o json
  pipe drift --shard 2/4          # the second of four parallel jobs
  pipe drift --fix`,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.apps = args
			opts.parallel = v.GetInt("parallel")
			opts.fix = v.GetBool("fix")
			opts.record = !v.GetBool("no-record")
			opts.verbose = v.GetBool("verbose")
			opts.lease = v.GetDuration("lease")
			opts.grace = a.grace(v)
			opts.issue = v.GetBool("issue")
			opts.dotenv = v.GetString("dotenv")
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			if s := v.GetString("shard"); s != "" {
				if opts.shard, err = drift.ParseShard(s); err != nil {
					return usageError("--shard: %v", err)
				}
			}
			if opts.parallel < 0 {
				return usageError("--parallel must be positive")
			}
			return a.runDrift(cmd.Context(), v, opts, pflags)
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, true)
	pflags = addPlatformFlags(cmd)
	cmd.Flags().String("shard", "", "check only part i of n of the applications (i/n, e.g. 2/4); env PIPE_SHARD")
	cmd.Flags().Int("parallel", 8, "applications checked at once")
	cmd.Flags().Bool("fix", false, "quick-sync the drifted applications (trigger drift)")
	cmd.Flags().Bool("no-record", false, "do not record drift state changes in the deployment records")
	cmd.Flags().Bool("verbose", false, "list the applications in sync too")
	cmd.Flags().Duration("lease", state.DefaultLease, "with --fix: lease of each app's lock")
	addGraceFlag(cmd)
	cmd.Flags().Bool("issue", false, "open (or update) an issue per drifted app, close it when back in sync: a GitHub issue (needs GITHUB_TOKEN and GITHUB_REPOSITORY) or, in GitLab CI, a GitLab issue (needs GITLAB_TOKEN)")
	cmd.Flags().String("dotenv", "", "write drifted, drifted_apps, failed_apps and the counts as a GitLab dotenv report (PIPE_DRIFTED=true...) to this `file`; env PIPE_DOTENV")
	return cmd
}

func (a *app) runDrift(ctx context.Context, v *viper.Viper, opts *driftOptions, pflags *registry.Flags) error {
	var issues *report.DriftIssues
	if opts.issue {
		var err error
		if issues, err = a.driftIssues(); err != nil {
			return err
		}
	}
	root, repo, err := a.openRepo()
	if err != nil {
		return err
	}
	git, err := source.Open(root)
	if err != nil {
		return sourceError(err)
	}
	defer git.Close()
	head, err := git.ResolveRevision("HEAD")
	if err != nil {
		return sourceError(err)
	}
	apps, err := a.selectApps(repo, git, opts.apps, true, "")
	if len(opts.apps) > 0 {
		apps, err = a.selectApps(repo, git, opts.apps, false, "")
	}
	if err != nil {
		return err
	}
	apps = opts.shard.Select(uniqueApps(apps))

	pfs := a.platforms(v, root, repo, pflags, false)
	fmt.Fprintf(a.err, "checking %d applications for drift against %s\n", len(apps), shortHash(head.Hash))
	checker := &drift.Checker{
		Platforms: driftPlatforms(pfs), Parallelism: opts.parallel, Now: a.env.Now,
		Prepare: driftTrees(git, head, a.unsealer(root, repo, false)),
		Validate: func(ap *config.App) error {
			if ds := a.fileErrors(repo, ap); len(ds) > 0 {
				return fmt.Errorf("%s is invalid: %v", ap.File, ds.Error())
			}
			return nil
		},
		Progress: func(app string, st drift.Status, d time.Duration) {
			if a.ci.IsCI() {
				fmt.Fprintf(a.err, "%s %s: %s (%s)\n", a.env.Now().UTC().Format("15:04:05"), app, st, d.Round(time.Millisecond))
			}
		},
	}
	rep := checker.Check(ctx, apps)
	rep.Commit = head.Hash
	rep.Shard = opts.shard.String()
	if ctx.Err() != nil {
		return &Error{Code: ExitInterrupted, Summary: "interrupted", Err: ctx.Err()}
	}

	if opts.output == "json" {
		if err := rep.WriteJSON(a.out); err != nil {
			return err
		}
	} else if err := rep.WriteText(a.out, drift.TextOptions{Color: a.ostyl.color, Verbose: opts.verbose}); err != nil {
		return err
	}
	fmt.Fprintf(a.err, "%d list requests, %d dry runs, %s\n", rep.Stats.ListCalls, rep.Stats.DryRuns, rep.Stats.Duration.Round(time.Millisecond))
	if a.ci.Provider == ci.GitHub && a.ci.StepSummaryPath != "" {
		if err := appendDriftSummary(a.ci.StepSummaryPath, a.mask(report.DriftMarkdown(rep, 0))); err != nil {
			fmt.Fprintf(a.err, "%s cannot write the job summary: %v\n", a.style.Yellow("warning:"), err)
		}
	}

	failed := rep.Failed()
	outs := a.redactOutputs(a.redactor(), driftOutputs(rep))
	if a.ci.Provider == ci.GitHub && a.ci.OutputPath != "" {
		if err := report.WriteGitHubOutputs(a.ci.OutputPath, githubOutputNames(outs)); err != nil {
			fmt.Fprintf(a.err, "%s cannot write the step outputs: %v\n", a.style.Yellow("warning:"), err)
		}
	}
	if opts.dotenv != "" {
		// Asked for by name, and read by the jobs that follow: not writing
		// it fails the check.
		if err := report.WriteDotenv(opts.dotenv, outs); err != nil {
			fmt.Fprintf(a.err, "%s cannot write the dotenv report: %v\n", a.style.Red("error:"), err)
			failed = true
		}
	}
	if issues != nil {
		acts, err := issues.Sync(ctx, rep)
		for _, act := range acts {
			if act.Action != "unchanged" {
				fmt.Fprintf(a.err, "%s: issue #%d %s %s\n", act.App, act.Number, act.Action, act.URL)
			}
		}
		if err != nil {
			fmt.Fprintf(a.err, "%s %v\n", a.style.Red("error:"), err)
			failed = true
		}
	}
	var st *state.GitStore
	needFix := opts.fix
	for _, ap := range apps {
		if !ap.Spec.Generic().Trigger.OnOutOfSync.Disabled {
			needFix = true
		}
	}
	if opts.record || (needFix && rep.Drifted()) {
		s, _, err := a.openStore(v, true)
		if err != nil {
			e := toError(err)
			fmt.Fprintf(a.err, "%s cannot open the deployment records: %s\n", a.style.Yellow("warning:"), e.Summary)
			if opts.fix && rep.Drifted() {
				return err
			}
		} else {
			st = s
			defer st.Close()
		}
	}
	var nd *notify.Dispatcher
	if st != nil {
		if nd, err = a.notifier(repo, nil, nil); err != nil {
			return err
		}
		defer a.closeNotifier(ctx, nd)
	}
	if st != nil && opts.record {
		a.recordDrift(ctx, st, rep, nd, apps)
	}
	if needFix && rep.Drifted() && st != nil {
		if !a.fixDrift(ctx, a.deployEnv(root, repo, git, st, pfs), st, rep, apps, opts, nd) {
			failed = true
		}
	}
	switch {
	case failed:
		return &Error{Code: ExitFailed, Summary: "drift check failed", Quiet: true}
	case rep.Drifted():
		return &Error{Code: ExitChanges, Summary: "drift found", Quiet: true}
	}
	return nil
}

// recordDrift writes the drift state changes; failures are warnings (the
// report is the result).
func (a *app) recordDrift(ctx context.Context, st *state.GitStore, rep *drift.Report, nd *notify.Dispatcher, apps []*config.App) {
	byName := map[string]*config.App{}
	for _, ap := range apps {
		byName[ap.Name] = ap
	}
	nctx := notifyContext(a.ci)
	for _, r := range rep.Apps {
		if r.Status != drift.InSync && r.Status != drift.OutOfSync {
			continue
		}
		summary := "in sync with Git"
		if r.Status == drift.OutOfSync {
			summary = r.Summary()
		}
		if rep.Commit != "" {
			summary += " (at " + shortHash(rep.Commit) + ")"
		}
		ch, err := st.RecordDrift(ctx, r.App, r.Status == drift.OutOfSync, summary, a.actor())
		switch {
		case err != nil:
			fmt.Fprintf(a.err, "%s %s: cannot record the drift state: %v\n", a.style.Yellow("warning:"), r.App, err)
		case ch.Recorded && r.Status == drift.OutOfSync:
			fmt.Fprintf(a.err, "%s: drift began (recorded on deployment %s)\n", r.App, ch.RecordID)
		case ch.Recorded:
			fmt.Fprintf(a.err, "%s: drift ended (recorded on deployment %s)\n", r.App, ch.RecordID)
		}
		// Only a change of the drift state is sent: the records know the
		// last one (on an earlier deployment too), so an unchanged check
		// sends nothing.
		if err == nil && ch.Recorded && nd != nil && byName[r.App] != nil {
			t := notify.ApplicationSynced
			if r.Status == drift.OutOfSync {
				t = notify.ApplicationOutOfSync
			}
			ev := notify.Event{Type: t, Group: notify.GroupOf(t), Time: a.env.Now(), App: notifyApp(byName[r.App]),
				Drift: summary, Summary: summary, CIRunURL: nctx.CIRunURL}
			nd.Notify(ev)
		}
	}
}

// fixDrift quick-syncs the drifted applications that --fix or their
// trigger.onOutOfSync selects; it reports whether every sync succeeded.
func (a *app) fixDrift(ctx context.Context, env *deploy.Env, st *state.GitStore, rep *drift.Report, apps []*config.App, opts *driftOptions, nd *notify.Dispatcher) bool {
	byName := map[string]*config.App{}
	for _, ap := range apps {
		byName[ap.Name] = ap
	}
	ok := true
	for _, r := range rep.Apps {
		ap := byName[r.App]
		if r.Status != drift.OutOfSync || ap == nil {
			continue
		}
		spec := ap.Spec.Generic()
		if !opts.fix && spec.Trigger.OnOutOfSync.Disabled {
			continue
		}
		if !opts.fix {
			last, err := st.LastSuccessful(ctx, ap.Name)
			if err == nil && a.env.Now().Sub(last.EndedAt) < spec.Trigger.OnOutOfSync.MinWindow.Std() {
				fmt.Fprintf(a.err, "%s: drifted, but deployed less than %s ago (trigger.onOutOfSync.minWindow): not synced\n", ap.Name, spec.Trigger.OnOutOfSync.MinWindow)
				continue
			}
		}
		fmt.Fprintf(a.err, "%s: drifted (%s); syncing\n", ap.Name, r.Summary())
		store := deploy.Store(st)
		if nd != nil {
			store = newNotifyStore(st, nd, notifyApp(ap), notifyContext(a.ci), threadsOf(nd))
		}
		rec, err := env.Sync(ctx, ap, store, deploy.SyncOptions{
			// Drift is often another manager's change: take the fields back.
			PlanOptions: deploy.PlanOptions{Strategy: plan.StrategyQuickSync, ForceConflicts: true},
			Trigger:     state.Trigger{Kind: state.TriggerDrift, Actor: a.actor(), CIRunURL: a.ci.RunURL},
			Owner:       a.owner(),
			Lease:       opts.lease,
			Grace:       opts.grace,
			Events:      a.printEvent,
		})
		if rec != nil {
			fmt.Fprintf(a.err, "%s: fix %s %s (record %s)\n", ap.Name, shortHash(rec.Target.Hash), rec.Status, rec.ID)
		}
		if err != nil {
			renderTo(a.err, toError(syncError(err)), a.style)
			ok = false
		}
	}
	return ok
}

// driftIssues connects to the issue tracker of the run for --issue: the
// GitLab project in GitLab CI, the GitHub repository otherwise.
func (a *app) driftIssues() (*report.DriftIssues, error) {
	if a.ci.Provider == ci.GitLab {
		return a.gitlabDriftIssues()
	}
	token := a.env.Getenv("PIPE_GITHUB_TOKEN")
	if token == "" {
		token = a.env.Getenv("GITHUB_TOKEN")
	}
	repo := a.ci.Repository
	if repo == "" {
		repo = a.env.Getenv("GITHUB_REPOSITORY")
	}
	apiURL := a.ci.APIURL
	if apiURL == "" {
		apiURL = a.env.Getenv("GITHUB_API_URL")
	}
	if token == "" || repo == "" {
		return nil, usageError("--issue needs GITHUB_TOKEN (or PIPE_GITHUB_TOKEN) and GITHUB_REPOSITORY (owner/name)")
	}
	d, err := report.NewDriftIssues(a.reportHTTPClient(30*time.Second), apiURL, repo, token)
	if err != nil {
		return nil, usageError("--issue: %v", err)
	}
	return d, nil
}

// gitlabDriftIssues connects to the GitLab project of the run (CI_PROJECT_ID,
// or its path) at CI_API_V4_URL. The token is GITLAB_TOKEN (sent as
// PRIVATE-TOKEN), else CI_JOB_TOKEN (JOB-TOKEN), as for merge request notes.
func (a *app) gitlabDriftIssues() (*report.DriftIssues, error) {
	token, job, project := a.gitlabAuth()
	if token == "" || project == "" || a.ci.APIURL == "" {
		return nil, usageError("--issue in GitLab CI needs GITLAB_TOKEN (a project access token with the api scope; or CI_JOB_TOKEN), CI_API_V4_URL and CI_PROJECT_ID or CI_PROJECT_PATH")
	}
	d, err := report.NewGitLabDriftIssues(a.reportHTTPClient(30*time.Second), a.ci.APIURL, project, token, job)
	if err != nil {
		return nil, usageError("--issue: %v", err)
	}
	return d, nil
}

// uniqueApps drops repeated applications (an app named twice).
func uniqueApps(apps []*config.App) []*config.App {
	seen := map[string]bool{}
	var out []*config.App
	for _, ap := range apps {
		if !seen[ap.Name] {
			seen[ap.Name] = true
			out = append(out, ap)
		}
	}
	return out
}
