package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/render"
	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/state"
)

type syncOptions struct {
	app            string
	planFile       string
	strategy       plan.Strategy
	forceConflicts bool
	output         string
	lease          time.Duration
}

func (a *app) syncCommand() *cobra.Command {
	opts := &syncOptions{}
	var kube *kubeFlags
	cmd := &cobra.Command{
		Use:   "sync APP",
		Short: "Deploy an application: plan, lock, apply, wait, record",
		Long: `Deploy an application from the working tree (its HEAD commit) with a
quick sync: server-side apply of every object (field manager "pipe"),
Namespaces and CRDs first, then a readiness wait, bounded by spec.timeout.

The deployment is recorded in the repository's Git notes before, during and
after the sync, and the application's lock is held meanwhile: a second sync
of the same app exits 5 naming the holder. SIGINT/SIGTERM stop the sync,
record it CANCELLED and release the lock (exit 130).

With --plan, apply exactly a plan saved by ` + "`pipe plan --out`" + `, and refuse
it when the head, the app's config or the live objects changed since.

Progressive syncs (pipelines) are not part of this version: an app whose
plan is a pipeline is refused unless --strategy quick.

The cluster: --kubeconfig/--context/... flags, else the KUBERNETES
platform provider of .pipe/config.yaml whose labels match the app's (or
--platform-provider), else the current kubeconfig context.`,
		Example: `  pipe sync web
  pipe sync web --strategy quick --no-push      # a local dry run of the records
  pipe plan web --out plan.json && pipe sync web --plan plan.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.app = args[0]
			opts.planFile = v.GetString("plan")
			opts.forceConflicts = v.GetBool("force-conflicts")
			opts.lease = v.GetDuration("lease")
			var err error
			if opts.output, err = outputFormat(v, "text", "json"); err != nil {
				return err
			}
			if s := v.GetString("strategy"); s != "" {
				if opts.strategy, err = plan.ParseStrategy(s); err != nil {
					return usageError("%v", err)
				}
			}
			st, root, err := a.openStore(v, true)
			if err != nil {
				return err
			}
			defer st.Close()
			return a.runSync(cmd, root, st, kube, opts)
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, true)
	kube = addKubeFlags(cmd)
	cmd.Flags().String("plan", "", "apply exactly this saved plan (from `pipe plan --out`)")
	cmd.Flags().String("strategy", "", "force the strategy: quick (pipeline is not available in this version)")
	cmd.Flags().Bool("force-conflicts", false, "take over fields that other field managers own (server-side apply force)")
	cmd.Flags().Duration("lease", state.DefaultLease, "lease of the app's lock; renewed while the sync runs, taken over by others once expired")
	return cmd
}

func (a *app) runSync(cmd *cobra.Command, root string, st *state.GitStore, kube *kubeFlags, opts *syncOptions) error {
	ctx := cmd.Context()
	repo, err := config.LoadRepo(root)
	if err != nil {
		return &Error{Code: ExitUsage, Summary: "cannot read the repository", Detail: err.Error()}
	}
	ap, err := repo.App(opts.app)
	if err != nil {
		return &Error{Code: ExitUsage, Summary: err.Error(), Hint: "`pipe apps` lists the applications"}
	}
	if ds := a.fileErrors(repo, ap); len(ds) > 0 {
		return &Error{Code: ExitUsage, Summary: ap.File + " is invalid; nothing was deployed", Detail: ds.Error(), Hint: "run `pipe validate`"}
	}
	if ap.Kind != config.KindKubernetesApp {
		return &Error{Code: ExitUsage, Summary: fmt.Sprintf("syncing a %s is not supported in this version: pipe syncs KubernetesApp applications", ap.Kind)}
	}
	var saved *plan.Plan
	if opts.planFile != "" {
		if saved, err = loadPlan(opts.planFile, ap.Name); err != nil {
			return err
		}
	}
	git, err := source.Open(root)
	if err != nil {
		return sourceError(err)
	}
	defer git.Close()
	cluster, where, err := kube.connect(repo.Config, ap)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.err, "syncing %s to %s %s\n", ap.Name, cluster.Host(), describeWhere(where))
	env := &deploy.Env{Root: root, Repo: repo, Git: git, Records: st, Now: a.env.Now,
		Renderer: &render.Renderer{Git: &render.GoGitFetcher{}, DefaultNamespace: cluster.Namespace()}}
	if repo.Config != nil {
		if env.Renderer.ChartRepos, err = render.ChartReposFromConfig(repo.Config.ChartRepositories, a.env.Getenv, os.ReadFile); err != nil {
			return &Error{Code: ExitUsage, Summary: "chart repositories", Detail: err.Error()}
		}
	}
	if saved != nil && saved.Source.Live != nil {
		env.Live = func(app string) plan.LiveObserver {
			return deploy.KubernetesObserver{Client: cluster, App: app, ForceConflicts: opts.forceConflicts}
		}
	}
	trigger := state.Trigger{Kind: state.TriggerManual, Actor: a.actor(), CIRunURL: a.ci.RunURL}
	if a.ci.Provider != ci.None && a.ci.EventName == "push" {
		trigger.Kind = state.TriggerPush
	}
	rec, err := env.Sync(ctx, ap, cluster, st, deploy.SyncOptions{
		PlanOptions:    deploy.PlanOptions{Strategy: opts.strategy},
		Saved:          saved,
		Trigger:        trigger,
		Owner:          a.owner(),
		ForceConflicts: opts.forceConflicts,
		Lease:          opts.lease,
		Events:         a.printEvent,
	})
	if rec != nil {
		if opts.output == "json" {
			if werr := writeJSON(a.out, rec); werr != nil {
				return werr
			}
		} else {
			a.printRecord(rec)
		}
	}
	return syncError(err)
}

// fileErrors returns the errors of the app's config file.
func (a *app) fileErrors(repo *config.Repo, ap *config.App) config.Diagnostics {
	for _, f := range repo.Files {
		if f.Path == ap.File {
			return f.Diags.Errors()
		}
	}
	return nil
}

func describeWhere(where string) string { return "(" + where + ")" }

// loadPlan reads the plan of app from a file written by `pipe plan --out`.
func loadPlan(path, app string) (*plan.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Code: ExitUsage, Summary: "cannot read the plan", Detail: err.Error()}
	}
	var file struct {
		Plans []json.RawMessage `json:"plans"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, &Error{Code: ExitUsage, Summary: path + " is not a plan file", Detail: err.Error(), Hint: "write one with `pipe plan APP --out FILE`"}
	}
	for _, raw := range file.Plans {
		p, err := plan.Decode(raw)
		if err != nil {
			return nil, &Error{Code: ExitUsage, Summary: path + ": " + err.Error()}
		}
		if p.App.Name == app {
			return p, nil
		}
	}
	return nil, &Error{Code: ExitUsage, Summary: fmt.Sprintf("%s has no plan for %s", path, app)}
}

// syncError maps the outcomes of a sync to exit codes.
func syncError(err error) error {
	var stale *plan.StaleError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &stale):
		return &Error{Code: ExitFailed, Summary: "the saved plan is stale; nothing was deployed", Detail: err.Error(), Hint: "make a new plan with `pipe plan --out`"}
	case errors.Is(err, context.Canceled):
		return &Error{Code: ExitInterrupted, Summary: "interrupted: the deployment was recorded as CANCELLED and the lock released",
			Detail: err.Error()}
	case errors.Is(err, deploy.ErrProgressive):
		return &Error{Code: ExitUsage, Summary: err.Error() + "; nothing was deployed",
			Hint: "run with --strategy quick to apply everything now"}
	}
	return stateError(sourceError(err))
}

// printEvent renders a sync's progress on stderr: timestamped lines in CI.
func (a *app) printEvent(ev deploy.Event) {
	prefix := ""
	if a.ci.IsCI() {
		prefix = ev.Time.UTC().Format("15:04:05") + " "
	}
	stage := ""
	if ev.Stage != "" {
		stage = "[" + ev.Stage + "] "
	}
	fmt.Fprintf(a.err, "%s%s%s\n", prefix, a.style.Dim(stage), ev.Message)
}

// printRecord prints the outcome of a deployment on stdout.
func (a *app) printRecord(rec *state.Record) {
	st := a.ostyl
	status := string(rec.Status)
	switch rec.Status {
	case state.StatusSucceeded:
		status = st.Green(status)
	case state.StatusFailed, state.StatusCancelled:
		status = st.Red(status)
	}
	fmt.Fprintf(a.out, "%s %s: %s (%s) in %s\n", rec.App, shortHash(rec.Target.Hash), status, rec.Strategy, rec.Duration(a.env.Now()).Round(time.Second))
	if rec.Reason != "" {
		fmt.Fprintf(a.out, "  reason: %s\n", rec.Reason)
	}
	for _, s := range rec.Stages {
		fmt.Fprintf(a.out, "  %-12s %-10s %s\n", s.Name, s.Status, formatMetadata(s.Metadata))
	}
	fmt.Fprintf(a.out, "  record: %s (pipe history %s)\n", rec.ID, rec.App)
}

func formatMetadata(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range []string{"objects", "created", "configured", "unchanged", "pruned", "notApplied"} {
		if v, ok := m[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	return fmt.Sprint(parts)
}

// owner names the lock holder: the CI job, else the user on this host.
func (a *app) owner() string {
	if a.ci.RunURL != "" {
		return a.actor() + " via " + a.ci.RunURL
	}
	host, _ := os.Hostname()
	return a.actor() + "@" + host
}
