package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/platform/registry"
	"github.com/gitops-pipe/pipe/internal/report"
	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/unseal"
)

type planOptions struct {
	apps             []string
	all              bool
	base             string
	trustedFrom      string
	strategy         plan.Strategy
	output           string
	out              string
	detailedExitcode bool
	noDiff           bool
	live             bool
	forceConflicts   bool
	ci               ciReportOptions
}

func (a *app) planCommand() *cobra.Command {
	opts := &planOptions{}
	var pflags *registry.Flags
	cmd := &cobra.Command{
		Use:   "plan [APP...]",
		Short: "Show what a sync would do: strategy, reason, stages and changes",
		Long: `Plan the sync of applications: whether a quick sync or the app's pipeline
would run and why, the stages that would run, and a diff per object.

Without arguments, plan the applications the change touches (as
` + "`pipe apps --changed`" + `: in a pull request, against the merge base with its
target branch); --all plans every application.

Offline by default: the head (the working tree) is compared with the last
successfully deployed commit from the deployment records, or with --base
when the app has none. With --live, the changes are those a sync would make
to the cluster: the live objects against a server-side dry-run apply of the
head, so defaults, admission and other managers' fields are accounted for
(the strategy is still decided against the last successful deployment, as a
sync decides it). Secret values are masked.

With --detailed-exitcode, exit 3 when any plan has changes.

In CI: in GitHub Actions the plan is also written to the job summary
($GITHUB_STEP_SUMMARY) and the step outputs has_changes, apps, strategies
and errors to $GITHUB_OUTPUT; --dotenv writes them as a GitLab dotenv
report (PIPE_HAS_CHANGES, PIPE_APPS...). --comment posts the plan on the
pull request (GitHub, with GITHUB_TOKEN) or merge request (GitLab, with
GITLAB_TOKEN or CI_JOB_TOKEN) as one sticky comment per --title, updated in
place on every run; --labels keeps the labels pipe:no-changes,
pipe:progressive and pipe:destroy in step with the plan. Secrets and
tokens are masked.`,
		Example: `  pipe plan web
  pipe plan --base origin/main -o json
  pipe plan web --out plan.json && pipe sync web --plan plan.json
  pipe plan --comment --labels            # in a pull request workflow
  pipe plan --comment --pr 42 --title staging`,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := a.bind(cmd)
			opts.apps = args
			opts.all = v.GetBool("all")
			opts.base = v.GetString("base")
			opts.trustedFrom = v.GetString("trusted-config-from")
			opts.out = v.GetString("out")
			opts.detailedExitcode = v.GetBool("detailed-exitcode")
			opts.noDiff = v.GetBool("no-diff")
			opts.live = v.GetBool("live")
			opts.forceConflicts = v.GetBool("force-conflicts")
			opts.ci = ciReportOptions{comment: v.GetBool("comment"), pr: v.GetInt("pr"), title: v.GetString("title"),
				skipNoChanges: v.GetBool("skip-no-changes"), labels: v.GetBool("labels"), dotenv: v.GetString("dotenv"),
				status: v.GetBool("status")}
			if opts.ci.pr < 0 {
				return usageError("--pr must be a pull/merge request number")
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
			if opts.all && len(args) > 0 {
				return usageError("name applications or use --all, not both")
			}
			if from := v.GetString("from"); from != "" {
				if len(args) > 0 || opts.all || opts.live {
					return usageError("--from reports a saved plan: no applications, --all or --live with it")
				}
				return a.reportSavedPlan(cmd, opts, from)
			}
			return a.runPlan(cmd, v, opts, pflags)
		},
	}
	addOutputFlag(cmd, "text", "json")
	addStoreFlags(cmd, false)
	cmd.Flags().Bool("all", false, "plan every application")
	cmd.Flags().String("base", "", "compare with this revision when an app has no successful deployment (and pick changed apps against it); env PIPE_BASE")
	cmd.Flags().String("strategy", "", "force the strategy: quick or pipeline")
	cmd.Flags().String("out", "", "also save the plans as JSON to this `file` (for pipe sync --plan)")
	cmd.Flags().Bool("detailed-exitcode", false, "exit 3 when a plan has changes, 0 when none has")
	cmd.Flags().Bool("no-diff", false, "one line per changed object instead of its diff")
	cmd.Flags().Bool("live", false, "diff against the cluster (server-side dry run) instead of the last deployed commit")
	cmd.Flags().Bool("force-conflicts", false, "with --live: dry-run as pipe sync --force-conflicts would apply")
	cmd.Flags().Bool("comment", false, "post the plan on the pull/merge request as a sticky comment; env PIPE_COMMENT")
	cmd.Flags().Int("pr", 0, "the pull/merge request number to comment on (default: from the CI event); env PIPE_PR")
	cmd.Flags().String("title", "", "title of the comment, to keep one comment per pipe setup sharing a repository; env PIPE_TITLE")
	cmd.Flags().Bool("skip-no-changes", false, "with --comment: post no new comment when nothing changes (an existing one is still updated)")
	cmd.Flags().Bool("labels", false, "keep the labels pipe:no-changes, pipe:progressive, pipe:destroy in step with the plan")
	cmd.Flags().Bool("status", false, "set the commit status pipe/plan (pipe/plan/TITLE) on the head commit (GitHub)")
	cmd.Flags().String("trusted-config-from", "", "read .pipe/config.yaml (providers, credentials, endpoints) from this revision, not the working tree, and run nothing the working tree names (default in a pull/merge request: its target branch); env PIPE_TRUSTED_CONFIG_FROM")
	cmd.Flags().String("from", "", "report the plans saved in this `file` by pipe plan --out (e.g. by an untrusted fork job) instead of planning")
	cmd.Flags().String("dotenv", "", "write has_changes, apps, strategies and errors as a GitLab dotenv report to this file; env PIPE_DOTENV")
	pflags = addPlatformFlags(cmd)
	return cmd
}

// planFile is the JSON of `pipe plan -o json` and of --out files.
type planFile struct {
	SchemaVersion int          `json:"schemaVersion"`
	Plans         []*plan.Plan `json:"plans"`
	Errors        []appError   `json:"errors,omitempty"`
	// Notices are what the reader of the plans must know about all of
	// them (the trust boundary set the change's platform settings aside).
	Notices []string `json:"notices,omitempty"`
}

type appError struct {
	App string `json:"app"`
	// File is the app's config file, for CI annotations.
	File  string `json:"file,omitempty"`
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

func (a *app) runPlan(cmd *cobra.Command, v *viper.Viper, opts *planOptions, pflags *registry.Flags) error {
	ctx := cmd.Context()
	root, repo, err := a.openRepo()
	if err != nil {
		return err
	}
	git, err := source.Open(root)
	if err != nil {
		return sourceError(err)
	}
	defer git.Close()
	tr, err := a.applyTrust(git, repo, opts.trustedFrom)
	if err != nil {
		return err
	}
	var notices []string
	if tr.Untrusted {
		fmt.Fprintf(a.err, "planning an unreviewed change: %s from %s (%s), nothing run from the checkout\n", config.RepoConfigFile, tr.From.Name, tr.From.Short())
	}
	if n := tr.notice(); n != "" {
		fmt.Fprintf(a.err, "%s %s\n", a.style.Yellow("warning:"), n)
		notices = append(notices, n)
		if a.ci.Provider == ci.GitHub {
			report.GitHubAnnotation(a.err, "warning", config.RepoConfigFile, "pipe plan: platform settings", n)
		}
	}
	apps, err := a.selectApps(repo, git, opts.apps, opts.all, opts.base)
	if err != nil {
		return err
	}
	if len(apps) == 0 {
		fmt.Fprintln(a.err, "no application to plan: the change touches none (name apps or use --all)")
		out := planFile{SchemaVersion: 1, Plans: []*plan.Plan{}, Notices: notices}
		if err := a.writePlans(opts, out); err != nil {
			return err
		}
		return a.reportPlan(ctx, opts.ci, out)
	}
	st, _, err := a.openStore(v, false)
	if err != nil {
		return err
	}
	defer st.Close()
	env := a.deployEnv(root, repo, git, st, a.platforms(v, root, repo, pflags, tr.Untrusted))
	env.HeadFromGit = tr.Untrusted
	env.Unsealer = a.unsealer(root, repo, tr.Untrusted)
	if tr.Untrusted {
		notices = append(notices, a.sealedNotices(apps)...)
	}
	out := planFile{SchemaVersion: 1, Plans: []*plan.Plan{}, Notices: notices}
	// Only configuration errors (an app's secrets or templates): exit 2.
	configOnly := true
	for _, ap := range apps {
		if ctx.Err() != nil {
			return &Error{Code: ExitInterrupted, Summary: fmt.Sprintf("interrupted: %d of %d applications planned, nothing reported", len(out.Plans)+len(out.Errors), len(apps)), Err: context.Cause(ctx)}
		}
		fmt.Fprintf(a.err, "planning %s (%s)\n", ap.Name, ap.Dir)
		p, err := env.Plan(ctx, ap, deploy.PlanOptions{Base: planBase(opts.base), Strategy: opts.strategy, Live: opts.live, ForceConflicts: opts.forceConflicts})
		if err != nil {
			e := toError(sourceError(err))
			out.Errors = append(out.Errors, appError{App: ap.Name, File: ap.File, Error: e.Summary, Hint: e.Hint})
			var ue *unseal.Error
			configOnly = configOnly && errors.As(err, &ue) && ue.Config()
			continue
		}
		out.Plans = append(out.Plans, p)
	}
	if err := a.writePlans(opts, out); err != nil {
		return err
	}
	reportErr := a.reportPlan(ctx, opts.ci, out)
	if reportErr != nil && len(out.Errors) > 0 {
		renderTo(a.err, toError(reportErr), a.style)
	} else if reportErr != nil {
		return reportErr
	}
	if len(out.Errors) > 0 {
		code := ExitFailed
		if configOnly {
			code = ExitUsage
		}
		return &Error{Code: code, Summary: fmt.Sprintf("%d of %d applications could not be planned", len(out.Errors), len(apps)), Quiet: opts.output == "text"}
	}
	if opts.detailedExitcode {
		for _, p := range out.Plans {
			if p.HasChanges() {
				return &Error{Code: ExitChanges, Quiet: true, Summary: "changes"}
			}
		}
	}
	return nil
}

// reportSavedPlan prints and reports plans saved with --out, without
// planning: the fork-safe pattern posts, from a trusted job, the plan that
// an untrusted job made. The file is data: it is decoded strictly, its
// plans checked one by one, and nothing in it is run.
func (a *app) reportSavedPlan(cmd *cobra.Command, opts *planOptions, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return &Error{Code: ExitUsage, Summary: "cannot read the saved plan", Detail: err.Error()}
	}
	var raw struct {
		SchemaVersion int               `json:"schemaVersion"`
		Plans         []json.RawMessage `json:"plans"`
		Errors        []appError        `json:"errors"`
		Notices       []string          `json:"notices"`
	}
	if err := json.Unmarshal(data, &raw); err != nil || raw.SchemaVersion != 1 {
		return &Error{Code: ExitUsage, Summary: path + " is not a plan file of `pipe plan --out`", Detail: fmt.Sprint(err)}
	}
	out := planFile{SchemaVersion: 1, Plans: []*plan.Plan{}, Errors: raw.Errors, Notices: raw.Notices}
	for i, r := range raw.Plans {
		p, err := plan.Decode(r)
		if err != nil {
			return &Error{Code: ExitUsage, Summary: fmt.Sprintf("%s: plan %d", path, i+1), Detail: err.Error()}
		}
		out.Plans = append(out.Plans, p)
	}
	opts.out = ""
	if err := a.writePlans(opts, out); err != nil {
		return err
	}
	return a.reportPlan(cmd.Context(), opts.ci, out)
}

func (a *app) writePlans(opts *planOptions, out planFile) error {
	// The CI tokens are masked in the plans as everywhere else: a chart
	// can print what it was given, and stdout is the job's log.
	red := a.redactor()
	if opts.out != "" {
		var buf bytes.Buffer
		if err := writeJSON(&buf, out); err != nil {
			return err
		}
		if err := os.WriteFile(opts.out, []byte(a.mask(red.Redact(buf.String()))), 0o644); err != nil {
			return &Error{Code: ExitFailed, Summary: "cannot save the plan", Detail: err.Error()}
		}
	}
	if opts.output == "json" {
		var buf bytes.Buffer
		if err := writeJSON(&buf, out); err != nil {
			return err
		}
		_, err := io.WriteString(a.out, red.Redact(buf.String()))
		return err
	}
	for i, p := range out.Plans {
		if i > 0 {
			fmt.Fprintln(a.out)
		}
		end := a.foldStart(fmt.Sprintf("plan-%d", i), red.Redact(fmt.Sprintf("%s: %s, %s", p.App.Name, p.Strategy, p.Summary)))
		var buf bytes.Buffer
		if err := p.WriteText(&buf, plan.TextOptions{Color: a.ostyl.color, NoDiff: opts.noDiff}); err != nil {
			return err
		}
		if _, err := io.WriteString(a.out, red.Redact(buf.String())); err != nil {
			return err
		}
		end()
	}
	for _, e := range out.Errors {
		render := &Error{Summary: red.Redact(e.App + ": " + e.Error), Hint: e.Hint}
		renderTo(a.err, render, a.style)
	}
	return nil
}

// planBase is the revision an app with no successful deployment is
// compared with: none for the all-zero SHA of a branch's first push.
func planBase(base string) string {
	if zeroRevision(base) {
		return ""
	}
	return base
}

// selectApps resolves the applications a command works on: the named ones,
// every one (all), or those the change touches.
func (a *app) selectApps(repo *config.Repo, git *source.Repo, names []string, all bool, base string) ([]*config.App, error) {
	if all {
		return repo.Apps, nil
	}
	if len(names) > 0 {
		var out []*config.App
		for _, n := range names {
			ap, err := repo.App(n)
			if err != nil {
				return nil, &Error{Code: ExitUsage, Summary: err.Error(), Hint: "`pipe apps` lists the applications"}
			}
			out = append(out, ap)
		}
		return out, nil
	}
	entries := make([]appEntry, 0, len(repo.Apps))
	for _, ap := range repo.Apps {
		entries = append(entries, appEntry{Name: ap.Name, Kind: ap.Kind, Dir: ap.Dir, File: ap.File})
	}
	changed, err := a.changedAppsIn(git, repo, entries, &appsOptions{base: base, head: "HEAD"})
	if err != nil {
		return nil, err
	}
	var out []*config.App
	for _, e := range changed {
		for _, ap := range repo.Apps {
			if ap.File == e.File {
				out = append(out, ap)
			}
		}
	}
	return out, nil
}
