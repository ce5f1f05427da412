package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/platform/terraform"
)

// TerraformRunner says how terraform (or tofu) runs for TerraformApp
// applications.
type TerraformRunner struct {
	// Find says which binary to run; each app's input.terraformVersion is
	// checked against it.
	Find terraform.FindOptions
	// Options are what the workspaces run with: the environment, where
	// terraform's own output goes (pipe's stderr), the plugin cache.
	Options terraform.Options
}

// ErrNoTerraform is returned when a TerraformApp is planned or synced by a
// run that was given no way to run terraform.
var ErrNoTerraform = errors.New("terraform is not available to this run")

// tfPrepared is an initialised workspace and its saved plans: it
// implements execute.TerraformWorkspace. Plan files hold the state's
// values, sensitive ones included: they live in a private temporary
// directory removed by close.
type tfPrepared struct {
	bin       *terraform.Binary
	ws        *terraform.Workspace
	workspace string
	// plan is the plan made when the deployment was planned.
	plan *terraform.Plan
	dir  string

	mu sync.Mutex
	n  int
	// cleanup removes the exported tree of a past revision.
	cleanup func()
}

func (t *tfPrepared) Plan(ctx context.Context) (*terraform.Plan, error) {
	t.mu.Lock()
	t.n++
	out := filepath.Join(t.dir, fmt.Sprintf("plan-%d.tfplan", t.n))
	t.mu.Unlock()
	return t.ws.Plan(ctx, terraform.PlanOptions{Out: out})
}

func (t *tfPrepared) Apply(ctx context.Context, planFile string) error {
	return t.ws.Apply(ctx, planFile)
}

func (t *tfPrepared) close() {
	if t == nil {
		return
	}
	os.RemoveAll(t.dir)
	if t.cleanup != nil {
		t.cleanup()
	}
}

// Open finds the binary for a TerraformApp, opens its workspace in dir and
// initialises it. A workspace that does not exist is created only when
// create is set.
func (r *TerraformRunner) Open(ctx context.Context, app *config.App, dir string, create bool) (*terraform.Workspace, error) {
	spec, ok := app.Spec.(*config.TerraformApplicationSpec)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, not a TerraformApp", app.Name, app.Kind)
	}
	find := r.Find
	find.VersionConstraint = spec.Input.TerraformVersion
	find.ConstraintSource = app.File + " (spec.input.terraformVersion)"
	bin, err := terraform.FindBinary(ctx, find)
	if err != nil {
		return nil, err
	}
	opts := r.Options
	opts.CreateWorkspace = create
	ws, err := terraform.Open(bin, dir, spec.Input, opts)
	if err != nil {
		return nil, err
	}
	if err := ws.Init(ctx); err != nil {
		return nil, err
	}
	return ws, nil
}

// openTerraform opens the app's workspace in dir, with a private directory
// for its plans. A workspace that does not exist is created only for the
// app's first deployment (create).
func (e *Env) openTerraform(ctx context.Context, app *config.App, dir string, create bool) (*tfPrepared, error) {
	if e.Terraform == nil {
		return nil, fmt.Errorf("%w: %s is a TerraformApp", ErrNoTerraform, app.Name)
	}
	ws, err := e.Terraform.Open(ctx, app, dir, create)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(e.TempDir, "pipe-tfplan-")
	if err != nil {
		return nil, err
	}
	return &tfPrepared{bin: ws.Binary(), ws: ws, dir: tmp, workspace: ws.Name()}, nil
}

// planTerraform plans a TerraformApp: terraform plans the head's
// configuration against the workspace's state, and the planner decides
// the strategy and lays out the stages.
//
// With stagesOnly, terraform is not run: the plan lays out the stages only
// (to cancel a deployment, which must work when terraform cannot plan).
func (e *Env) planTerraform(ctx context.Context, app *config.App, opts PlanOptions, stagesOnly bool) (*plan.Plan, *tfPrepared, error) {
	spec := app.Spec.(*config.TerraformApplicationSpec)
	head, headInfo, err := e.commit(opts.Head)
	if err != nil {
		return nil, nil, err
	}
	running, err := e.running(ctx, app)
	if err != nil {
		return nil, nil, err
	}
	in := plan.TerraformInput{
		App:         plan.AppOf(app),
		Spec:        spec,
		Head:        plan.Commit{Hash: head.Hash, Subject: headInfo.Subject},
		HeadMessage: headInfo.Message(),
		Strategy:    opts.Strategy,
		Commander:   opts.Commander,
		Result:      &plan.TerraformResult{},
		Now:         e.Now(),
	}
	var prep *tfPrepared
	if !stagesOnly {
		if prep, err = e.openTerraform(ctx, app, dirOf(e.Root, app), running == nil); err != nil {
			return nil, nil, err
		}
		tp, err := prep.Plan(ctx)
		if err != nil {
			prep.close()
			return nil, nil, err
		}
		prep.plan = tp
		in.Result = TerraformResult(prep.bin, prep.workspace, tp)
	}
	if running != nil {
		in.Running = &plan.Commit{Hash: running.Target.Hash, Subject: running.Target.Subject}
		if files, err := e.Git.ChangedFiles(source.Revision{Name: running.Target.Hash, Hash: running.Target.Hash}, head); err == nil {
			in.ChangedFiles = files
		}
	}
	if in.ConfigDigest, err = plan.ConfigDigest(app); err != nil {
		prep.close()
		return nil, nil, err
	}
	p, err := plan.PlanTerraform(in)
	if err != nil {
		prep.close()
		return nil, nil, err
	}
	return p, prep, nil
}

// TerraformResult describes a terraform plan for the planner and the
// reports.
func TerraformResult(bin *terraform.Binary, workspace string, p *terraform.Plan) *plan.TerraformResult {
	r := &plan.TerraformResult{
		Workspace:   workspace,
		Human:       p.Human,
		Fingerprint: p.Fingerprint,
	}
	if bin != nil {
		r.Binary = bin.Flavor
		if bin.Version != nil {
			r.Binary += " " + bin.Version.String()
		}
	}
	for _, rc := range p.Resources {
		action := tfAction(rc.Actions)
		if action == "" {
			continue
		}
		r.Resources = append(r.Resources, plan.TerraformResource{Address: rc.Address, Action: action, Reason: rc.Reason})
	}
	plan.SortTerraformResources(r.Resources)
	r.Counts = plan.CountTerraform(r.Resources)
	for _, o := range p.Outputs {
		action := tfAction([]string{o.Action})
		if action == "" {
			continue
		}
		r.Outputs = append(r.Outputs, plan.TerraformOutput{Name: o.Name, Action: action, Sensitive: o.Sensitive})
	}
	sort.Slice(r.Outputs, func(i, j int) bool { return r.Outputs[i].Name < r.Outputs[j].Name })
	return r
}

// tfAction names the action of terraform's action list; "" for no-op and
// read.
func tfAction(actions []string) string {
	has := map[string]bool{}
	for _, a := range actions {
		has[strings.ToLower(a)] = true
	}
	switch {
	case has["replace"] || has["create"] && has["delete"]:
		return plan.TerraformReplace
	case has["create"]:
		return plan.TerraformCreate
	case has["delete"]:
		return plan.TerraformDelete
	case has["update"]:
		return plan.TerraformUpdate
	case has["import"]:
		return plan.TerraformImport
	case has["forget"]:
		return plan.TerraformForget
	}
	return ""
}

// syncTerraform runs (rec nil) or resumes a TerraformApp deployment: quick
// sync (TERRAFORM_SYNC) or the pipeline, through the stage engine.
func (e *Env) syncTerraform(ctx context.Context, app *config.App, p *plan.Plan, prep *tfPrepared, store Store, rec *state.Record, opts SyncOptions) (*state.Record, error) {
	spec := app.Spec.(*config.TerraformApplicationSpec)
	platform := &execute.Terraform{QuickSync: spec.QuickSync}
	if prep != nil {
		// nil when cancelling: no stage plans or applies the head then.
		platform.Head = prep
		if prep.plan != nil && prep.plan.Fingerprint == p.Source.Desired {
			// The plan made now is the one shown (and, with --plan, the one
			// saved and verified): the first stage that plans applies it.
			platform.Prepared = prep.plan
		}
	}
	if p.Running != nil {
		running := p.Running.Hash
		platform.Running = func(ctx context.Context) (execute.TerraformWorkspace, func(), error) {
			return e.openRevision(ctx, app, running)
		}
	}
	return e.runEngine(ctx, app, p, platform, redactor(nil, opts.Pipeline.Environ, opts.Pipeline.Redact), store, rec, opts)
}

// openRevision opens the app's workspace as it was at a past commit (for
// ROLLBACK): the commit's tree is exported apart, the app's config is read
// from it (its vars, varFiles, workspace and flags go with its .tf files),
// and the default local state of the working tree is linked in, so that a
// local backend sees the real state rather than none.
func (e *Env) openRevision(ctx context.Context, app *config.App, rev string) (execute.TerraformWorkspace, func(), error) {
	r, _, err := e.commit(rev)
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp(e.TempDir, "pipe-rev-")
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (execute.TerraformWorkspace, func(), error) {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	if err := e.Git.ExportTree(r, dir); err != nil {
		return fail(err)
	}
	repoAt, err := config.LoadRepo(dir, app.File)
	if err != nil {
		return fail(fmt.Errorf("read %s at %s: %w", app.File, short(rev), err))
	}
	prev, err := repoAt.App(app.Name)
	if err != nil {
		return fail(fmt.Errorf("application %s at %s: %w", app.Name, short(rev), err))
	}
	if err := linkLocalState(dirOf(e.Root, app), dirOf(dir, prev)); err != nil {
		return fail(err)
	}
	ws, err := e.openTerraform(ctx, prev, dirOf(dir, prev), false)
	if err != nil {
		return fail(err)
	}
	ws.cleanup = func() { os.RemoveAll(dir) }
	return ws, ws.close, nil
}

// linkLocalState points an exported tree's default local state (and its
// workspaces' states) at the working tree's, replacing a committed copy.
func linkLocalState(appDir, exported string) error {
	for _, name := range []string{"terraform.tfstate", "terraform.tfstate.d"} {
		src := filepath.Join(appDir, name)
		if _, err := os.Lstat(src); err != nil {
			continue
		}
		dst := filepath.Join(exported, name)
		if err := os.RemoveAll(dst); err != nil {
			return fmt.Errorf("replace the exported %s in %s: %w", name, exported, err)
		}
		if err := os.Symlink(src, dst); err != nil {
			return fmt.Errorf("link the application's state %s into %s: %w", src, exported, err)
		}
	}
	return nil
}
