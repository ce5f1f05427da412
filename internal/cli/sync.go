package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/notify"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/platform/registry"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/unseal"
)

type syncOptions struct {
	app            string
	planFile       string
	strategy       plan.Strategy
	forceConflicts bool
	output         string
	lease          time.Duration
	grace          time.Duration
	resume         bool
	allowDirty     bool
	waitApproval   bool
	// cancel, with resume, cancels the unfinished deployment (pipe cancel).
	cancel string
}

func (a *app) syncCommand() *cobra.Command {
	opts := &syncOptions{}
	var pflags *registry.Flags
	cmd := &cobra.Command{
		Use:   "sync APP",
		Short: "Deploy an application: plan, lock, apply, wait, record",
		Long: `Deploy an application at the HEAD commit (uncommitted changes in the app
are refused, see --allow-dirty), as the planner decides: a quick sync (the
kind's sync stage: for Kubernetes, server-side apply of every object with
field manager "pipe", Namespaces and CRDs first, then a readiness wait,
bounded by spec.timeout), or the app's pipeline.

Every deployment, quick syncs included, goes through one lifecycle: the
app's lock is taken (a second sync of the same app exits 5 naming the
holder), the deployment is recorded in the repository's Git notes, a
pre-flight check asks the platform whether it accepts everything the
deployment will apply (for Kubernetes a server-side dry run of every
object: one invalid object means nothing is applied, exit 1, and the
record names the object, the field and the file:line it comes from), then
the stages run one by one, each recorded as it starts and ends. A failure,
a timeout or SIGINT/SIGTERM rolls back when autoRollback is on (PipeCD's
default), quick syncs included: the last successful commit, rendered with
its own app config, is applied again. SIGINT/SIGTERM record the deployment
CANCELLED and release the lock (exit 130).

With --plan, apply exactly a plan saved by ` + "`pipe plan --out`" + `, and refuse
it when the head, the app's config or the live objects changed since.

Pipeline stages: K8S_CANARY_ROLLOUT, K8S_PRIMARY_ROLLOUT, K8S_TRAFFIC_ROUTING
(podselector, istio or gatewayapi), TERRAFORM_PLAN, TERRAFORM_APPLY, WAIT,
WAIT_APPROVAL, ANALYSIS, SCRIPT_RUN... At a WAIT_APPROVAL stage the
deployment pauses and pipe exits 4: approve with ` + "`pipe approve APP`" + `,
then continue with ` + "`pipe sync APP --resume`" + ` (or keep waiting with
--wait-approval). --resume also continues a deployment whose job was killed:
finished stages are not run again and a WAIT waits only what remains.

Where the app is deployed: for Kubernetes the --kubeconfig/--context/...
flags, else the KUBERNETES platform provider of .pipe/config.yaml whose
labels match the app's (or --platform-provider), else the current
kubeconfig context; for Terraform --terraform-binary, else the TERRAFORM
platform provider's binary, else terraform (then tofu) in PATH.`,
		Example: `  pipe sync web
  pipe sync web --strategy quick --no-push      # a local dry run of the records
  pipe plan web --out plan.json && pipe sync web --plan plan.json
  pipe sync web --resume                          # after pipe approve web, or a killed job`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.app = args[0]
			opts.planFile = v.GetString("plan")
			opts.forceConflicts = v.GetBool("force-conflicts")
			opts.lease = v.GetDuration("lease")
			opts.grace = a.grace(v)
			opts.resume = v.GetBool("resume")
			opts.allowDirty = v.GetBool("allow-dirty")
			opts.waitApproval = v.GetBool("wait-approval")
			if opts.resume && opts.planFile != "" {
				return usageError("--resume continues a recorded deployment: it takes no --plan")
			}
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
			return a.runSync(cmd, v, root, st, pflags, opts)
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, true)
	pflags = addPlatformFlags(cmd)
	cmd.Flags().String("plan", "", "apply exactly the plan saved in this `file` (by pipe plan --out)")
	cmd.Flags().String("strategy", "", "force the strategy: quick or pipeline")
	cmd.Flags().Bool("force-conflicts", false, "take over fields that other field managers own (server-side apply force)")
	cmd.Flags().Bool("allow-dirty", false, "deploy even though the app's files have uncommitted changes (the record still names HEAD)")
	cmd.Flags().Bool("resume", false, "continue the app's unfinished pipeline deployment from its record")
	cmd.Flags().Bool("wait-approval", false, "keep waiting at WAIT_APPROVAL stages (up to their timeout) instead of pausing with exit 4")
	cmd.Flags().Duration("lease", state.DefaultLease, "lease of the app's lock; renewed while the sync runs, taken over by others once expired")
	addGraceFlag(cmd)
	return cmd
}

func (a *app) runSync(cmd *cobra.Command, v *viper.Viper, root string, st *state.GitStore, pflags *registry.Flags, opts *syncOptions) error {
	ctx := cmd.Context()
	ctx = a.withApprovals(ctx) // `/pipe approve` PR comments count at WAIT_APPROVAL (approval_source.go)
	repo, err := loadRepo(root)
	if err != nil {
		return err
	}
	ap, err := repo.App(opts.app)
	if err != nil {
		return &Error{Code: ExitUsage, Summary: err.Error(), Hint: "`pipe apps` lists the applications"}
	}
	if ds := a.fileErrors(repo, ap); len(ds) > 0 {
		return &Error{Code: ExitUsage, Summary: ap.File + " is invalid; nothing was deployed", Detail: ds.Error(), Hint: "run `pipe validate`"}
	}
	pfs := a.platforms(v, root, repo, pflags, false)
	pf, err := pfs.For(ap.Kind)
	if err != nil {
		return &Error{Code: ExitUsage, Summary: fmt.Sprintf("cannot deploy %s: %v", ap.Name, err), Err: err}
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
	if !opts.allowDirty {
		if err := refuseDirty(git, ap, pf.WorkFile); err != nil {
			return err
		}
	}
	env := a.deployEnv(root, repo, git, st, pfs)
	fmt.Fprintf(a.err, "syncing %s (%s)\n", ap.Name, ap.Kind)
	trigger := state.Trigger{Kind: state.TriggerManual, Actor: a.actor(), CIRunURL: a.ci.RunURL}
	if a.ci.Provider != ci.None && a.ci.EventName == "push" {
		trigger.Kind = state.TriggerPush
	}
	syncOpts := deploy.SyncOptions{
		PlanOptions: deploy.PlanOptions{Strategy: opts.strategy, ForceConflicts: opts.forceConflicts},
		Saved:       saved,
		Trigger:     trigger,
		Owner:       a.owner(),
		Lease:       opts.lease,
		Grace:       opts.grace,
		Pipeline:    a.pipelineOptions(root, opts),
	}
	syncOpts.Pipeline.Analysis = a.analysisEnv(repo)
	events, endFold := a.foldStages(a.printEvent)
	store := deploy.Store(st)
	if lv := a.liveView(); lv != nil { // a terminal, not CI: liveview.go
		events, endFold, store = lv.event, lv.stop, lv.wrap(st)
		defer lv.stop()
	}
	var threads map[string]string
	if (opts.resume || opts.cancel != "") && notifies(repo) {
		threads = slackThreads(ctx, st, ap.Name)
	}
	var (
		unsentMu sync.Mutex
		unsent   []string
	)
	nd, err := a.notifier(repo, threads, func(msg string) {
		unsentMu.Lock()
		unsent = append(unsent, msg)
		unsentMu.Unlock()
	})
	if err != nil {
		return err
	}
	var rec *state.Record
	if nd != nil {
		store = newNotifyStore(store, nd, notifyApp(ap), notifyContext(a.ci), threadsOf(nd))
		defer func() {
			a.closeNotifier(ctx, nd)
			unsentMu.Lock()
			failed := slices.Clone(unsent)
			unsentMu.Unlock()
			a.finishNotifications(ctx, st, rec, nd, failed)
		}()
	}
	syncOpts.Events = events
	sync := env.Sync
	if opts.resume {
		sync = env.Resume
	}
	rec, err = sync(ctx, ap, store, syncOpts)
	endFold()
	if rec == nil && err != nil && nd != nil && opts.cancel == "" && !opts.resume {
		// Nothing was begun (the lock is held, the plan failed...).
		nc := notifyContext(a.ci)
		nd.Notify(notify.Event{Type: notify.DeploymentTriggerFailed, Group: notify.GroupDeployment, Time: a.env.Now(),
			App: notifyApp(ap), Actor: trigger.Actor, Summary: a.redactor().Redact(toError(syncError(err)).Summary), CIRunURL: nc.CIRunURL, PRURL: nc.PRURL})
	}
	if rec != nil {
		if opts.output == "json" {
			if werr := writeJSON(a.out, rec); werr != nil {
				return werr
			}
		} else {
			a.printRecord(rec)
		}
	}
	// The PR/commit result comment, deployment status, job summary and
	// outputs in CI; a failure to report warns and never changes the exit.
	rctx, done := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	a.warn(a.reportSyncResult(rctx, rec))
	done()
	if opts.cancel != "" {
		return cancelError(err)
	}
	// An app's secrets or templates, found while planning, before the
	// lock and the record: a configuration error.
	if ue := (*unseal.Error)(nil); rec == nil && errors.As(err, &ue) && ue.Config() {
		return &Error{Code: ExitUsage, Summary: err.Error() + "; nothing was deployed", Err: err}
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
	var preflight *deploy.PreFlightError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &stale):
		return &Error{Code: ExitFailed, Summary: "the saved plan is stale; nothing was deployed", Detail: err.Error(), Hint: "make a new plan with `pipe plan --out`"}
	case errors.Is(err, context.Canceled):
		return &Error{Code: ExitInterrupted, Summary: "interrupted: the deployment was recorded as CANCELLED and the lock released",
			Detail: err.Error()}
	case errors.As(err, &preflight):
		return &Error{Code: ExitFailed, Summary: "the deployment failed its pre-flight check; nothing was applied", Detail: preflight.Err.Error(), Err: err}
	case errors.Is(err, config.ErrProviderChoice):
		return &Error{Code: ExitUsage, Summary: err.Error() + "; nothing was deployed", Err: err}
	case errors.Is(err, deploy.ErrWaitingApproval):
		return &Error{Code: ExitPaused, Summary: "paused: the deployment is waiting for approval",
			Hint: "approve with `pipe approve APP`, then continue with `pipe sync APP --resume`"}
	case errors.Is(err, deploy.ErrPaused):
		return &Error{Code: ExitLocked, Summary: err.Error() + "; nothing was deployed",
			Hint: "approve it (`pipe approve APP`) and continue it (`pipe sync APP --resume`), or cancel it (`pipe cancel APP`)"}
	case errors.Is(err, deploy.ErrNothingToResume):
		return &Error{Code: ExitUsage, Summary: err.Error(), Hint: "`pipe status` shows the app's last deployment"}
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
		if s.Status == state.StageNotStarted && isRollbackStage(s.Name) {
			continue
		}
		if rec.Strategy != state.StrategyPipeline {
			fmt.Fprintf(a.out, "  %-19s %-11s %s\n", s.Name, s.Status, formatMetadata(s.Metadata))
			continue
		}
		took := ""
		if !s.StartedAt.IsZero() && !s.EndedAt.IsZero() {
			took = s.EndedAt.Sub(s.StartedAt).Round(time.Second).String()
		}
		fmt.Fprintf(a.out, "  %-19s %-11s %6s %s\n", s.Name, s.Status, took, formatMetadata(s.Metadata))
		if s.Reason != "" && s.Status != state.StageSucceeded {
			fmt.Fprintf(a.out, "  %-19s %-11s %6s reason: %s\n", "", "", "", s.Reason)
		}
	}
	fmt.Fprintf(a.out, "  record: %s (pipe history %s)\n", rec.ID, rec.App)
}

func formatMetadata(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	known := []string{"objects", "created", "configured", "unchanged", "pruned", "notApplied"}
	for _, k := range known {
		if v, ok := m[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	var rest []string
	for k := range m {
		if !slices.Contains(known, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		v := m[k]
		if strings.HasPrefix(v, "sha256:") && len(v) > 19 {
			v = v[:19] // a digest: its head identifies it for people
		}
		parts = append(parts, k+"="+v)
	}
	return fmt.Sprint(parts)
}

func isRollbackStage(name string) bool {
	return name == string(plan.StageRollback) || name == string(plan.StageScriptRunRollback)
}

// pipelineOptions are how the stages of a pipeline run from this job.
func (a *app) pipelineOptions(root string, opts *syncOptions) deploy.PipelineOptions {
	po := deploy.PipelineOptions{WaitApproval: opts.waitApproval, Cancel: opts.cancel}
	if a.ci.ServerURL != "" && a.ci.Repository != "" {
		po.RepoURL = a.ci.ServerURL + "/" + a.ci.Repository
	} else if u, err := state.RemoteURL(root, ""); err == nil {
		po.RepoURL = redact.URL(u)
	}
	if a.env.Environ != nil {
		po.Environ = a.env.Environ()
	}
	return po
}

// owner names the lock holder: the CI job, else the user on this host.
func (a *app) owner() string {
	if a.ci.RunURL != "" {
		return a.actor() + " via " + a.ci.RunURL
	}
	host, _ := os.Hostname()
	return a.actor() + "@" + host
}

// refuseDirty stops a sync whose application files (its directory, and the
// shared .pipe/ folder) differ from HEAD: pipe deploys commits, and the
// record would name a commit that is not what was applied.
func refuseDirty(git *source.Repo, ap *config.App, workFile func(string) bool) error {
	paths, err := git.DirtyPaths()
	if err != nil {
		return sourceError(err)
	}
	var dirty []string
	for _, p := range paths {
		if workFile(p) {
			continue
		}
		if ap.Dir == "." || strings.HasPrefix(p, ap.Dir+"/") || strings.HasPrefix(p, config.SharedDir+"/") {
			dirty = append(dirty, p)
		}
	}
	if len(dirty) == 0 {
		return nil
	}
	detail := strings.Join(dirty[:min(len(dirty), 10)], "\n")
	if len(dirty) > 10 {
		detail += fmt.Sprintf("\n… and %d more", len(dirty)-10)
	}
	return &Error{Code: ExitUsage, Summary: fmt.Sprintf("%s has uncommitted changes; nothing was deployed", ap.Name), Detail: detail,
		Hint: "pipe deploys commits: commit the changes, or pass --allow-dirty to deploy the working tree anyway"}
}
