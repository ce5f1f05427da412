package terraform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/deploy"
	"github.com/gitops-pipe/pipe/internal/drift"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/platform"
)

// Platform is the Terraform platform: it plans, syncs, rolls back and
// checks the drift of TerraformApp applications with terraform or
// OpenTofu (deploy.Platform and drift.Platform).
type Platform struct {
	opts PlatformOptions
	// driftOpen opens an application's workspace for a drift check (done
	// releases it); tests replace it.
	driftOpen func(ctx context.Context, root string, app *config.App) (ws driftWorkspace, done func(), err error)
}

// driftWorkspace is what a drift check needs of a workspace.
type driftWorkspace interface {
	Drift(ctx context.Context) (*DriftReport, error)
}

// PlatformOptions are what the Terraform platform is built from.
type PlatformOptions struct {
	// Root is the working tree.
	Root string
	// Config is the repository's .pipe/config.yaml (nil when none): the
	// TERRAFORM platform provider's binary, vars and driftDetectionEnabled.
	Config *config.PipeSpec
	// Provider names the platform provider to use (--platform-provider);
	// empty picks the one whose labels match the application's.
	Provider string
	// Binary is the binary given on the command line (--terraform-binary):
	// it wins over the provider's.
	Binary string
	// Env is the environment terraform runs with (nil: this process's).
	Env []string
	// Output receives terraform's own output while deploying (pipe's
	// stderr); nil discards it. Drift checks never narrate it.
	Output io.Writer
	// TempDir holds the saved plans (they hold the state's values).
	TempDir string
	// Say narrates; nil says nothing.
	Say func(format string, args ...any)
	// Untrusted is set when planning a change nobody has reviewed (a
	// pull request): a provider binary inside the working tree (which the
	// change can edit) is refused. See platform.Env.Untrusted.
	Untrusted bool
}

// NewPlatform returns the Terraform platform of one run.
func NewPlatform(opts PlatformOptions) *Platform {
	p := &Platform{opts: opts}
	p.driftOpen = func(ctx context.Context, root string, app *config.App) (driftWorkspace, func(), error) {
		ws, err := p.driftWorkspace(ctx, root, app)
		if err != nil {
			return nil, nil, err
		}
		return ws, func() {}, nil
	}
	return p
}

// WorkFile reports whether a path is one terraform writes in the
// working directory itself (.terraform/, the local state and its backup
// and lock, the dependency lock file when not committed): not a change of
// the application.
func (p *Platform) WorkFile(path string) bool {
	base := path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		base = path[i+1:]
	}
	switch base {
	case "terraform.tfstate", "terraform.tfstate.backup", ".terraform.tfstate.lock.info", ".terraform.lock.hcl":
		return true
	}
	return strings.HasPrefix(path, ".terraform/") || strings.Contains(path, "/.terraform/") ||
		strings.HasPrefix(path, "terraform.tfstate.d/") || strings.Contains(path, "/terraform.tfstate.d/")
}

// setup says how terraform runs for an application: the binary from
// --terraform-binary, else the TERRAFORM platform provider's, else PATH;
// the provider's vars. where says where the binary comes from, in words.
func (p *Platform) setup(app *config.App, output io.Writer) (find FindOptions, opts Options, provider *config.PlatformProvider, where string, err error) {
	spec, ok := app.Spec.(*config.TerraformApplicationSpec)
	if !ok {
		return find, opts, nil, "", fmt.Errorf("%s is a %s, not a TerraformApp", app.Name, app.Kind)
	}
	opts = Options{Env: p.opts.Env, Stdout: output, Stderr: output}
	find = FindOptions{Env: p.opts.Env, VersionConstraint: spec.Input.TerraformVersion,
		ConstraintSource: app.File + " (spec.input.terraformVersion)"}
	where = "terraform from PATH"
	provider, err = p.opts.Config.PlatformProviderFor(app, config.PlatformTerraform, p.opts.Provider)
	if err != nil {
		return find, opts, nil, "", err
	}
	if provider != nil {
		where = "platform provider " + provider.Name
		if tc := provider.Terraform(); tc != nil {
			opts.Vars = tc.Vars
			if tc.Binary != "" {
				find.Binary = tc.Binary
				find.BinarySource = fmt.Sprintf("%s platformProviders %s config.binary", config.RepoConfigFile, provider.Name)
				if p.opts.Untrusted && p.opts.Binary == "" && strings.ContainsRune(tc.Binary, '/') && platform.InWorkTree(p.opts.Root, tc.Binary) {
					return find, opts, nil, "", fmt.Errorf("%s: %s is inside the repository, so this pull request can change what runs; "+
						"a plan of a pull request runs no program from the checkout: install terraform or tofu outside it (PATH, or --terraform-binary)",
						find.BinarySource, tc.Binary)
				}
			}
		}
	}
	if p.opts.Binary != "" {
		find.Binary, find.BinarySource = p.opts.Binary, "--terraform-binary"
	}
	if find.Binary != "" {
		where = find.Binary + " (" + find.BinarySource + ")"
	}
	return find, opts, provider, where, nil
}

// open finds the binary for an application, opens its workspace in dir
// and initialises it. A workspace that does not exist is created only
// when create is set (the application's first deployment).
func (p *Platform) open(ctx context.Context, app *config.App, dir string, create bool, output io.Writer) (*Workspace, error) {
	find, opts, _, where, err := p.setup(app, output)
	if err != nil {
		return nil, err
	}
	if output != nil && p.opts.Say != nil {
		p.opts.Say("%s: %s", app.Name, where)
	}
	bin, err := FindBinary(ctx, find)
	if err != nil {
		return nil, err
	}
	opts.CreateWorkspace = create
	spec := app.Spec.(*config.TerraformApplicationSpec)
	ws, err := Open(bin, dir, spec.Input, opts)
	if err != nil {
		return nil, err
	}
	if err := ws.Init(ctx); err != nil {
		return nil, err
	}
	return ws, nil
}

// Plan implements deploy.Platform: terraform plans the head's
// configuration against the workspace's state (a Terraform plan is live by
// nature), and the planner decides the strategy. For a cancel, terraform
// is not run: the stages are laid out only (cancelling must work when
// terraform cannot plan: expired credentials, a state lock left by a dead
// job).
func (p *Platform) Plan(ctx context.Context, req deploy.PlanRequest) (*plan.Plan, deploy.Prepared, error) {
	app := req.App
	spec, ok := app.Spec.(*config.TerraformApplicationSpec)
	if !ok {
		return nil, nil, fmt.Errorf("%s is a %s, not a TerraformApp", app.Name, app.Kind)
	}
	in := planInput{Input: req.Input, Spec: spec, Result: &Result{}}
	prep := &prepared{p: p, app: app, spec: spec, revision: req.Revision}
	if !req.Cancel {
		tree, err := req.Head.Open(ctx)
		if err != nil {
			return nil, nil, err
		}
		// A head rendered apart from the working tree (its secrets
		// decrypted in a copy) uses the working tree's local state.
		if tree.Root != p.opts.Root && !p.opts.Untrusted {
			if err := linkLocalState(dirOf(p.opts.Root, app), dirOf(tree.Root, tree.App), true); err != nil {
				return nil, nil, err
			}
		}
		if err := prep.openHead(ctx, tree, req.Running == nil); err != nil {
			return nil, nil, err
		}
		tp, err := prep.Plan(ctx)
		if err != nil {
			prep.Close()
			return nil, nil, err
		}
		prep.plan = tp
		in.Result = ResultOf(prep.ws.Binary(), prep.ws.Name(), tp)
	}
	pl, err := planTerraform(in)
	if err != nil {
		prep.Close()
		return nil, nil, err
	}
	return pl, prep, nil
}

// prepared is a planned TerraformApp deployment: the initialised
// workspace at the head and the plan made when planning. Plan files hold
// the state's values, sensitive ones included: they live in a private
// temporary directory removed by Close.
type prepared struct {
	p        *Platform
	app      *config.App
	spec     *config.TerraformApplicationSpec
	revision func(hash string) (*deploy.Revision, error)

	ws   *Workspace
	plan *Plan
	dir  string

	mu sync.Mutex
	n  int
}

func (d *prepared) openHead(ctx context.Context, tree *deploy.Tree, create bool) error {
	ws, err := d.p.open(ctx, tree.App, dirOf(tree.Root, tree.App), create, d.p.opts.Output)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(d.p.opts.TempDir, "pipe-tfplan-")
	if err != nil {
		return err
	}
	d.ws, d.dir = ws, tmp
	return nil
}

// Plan makes a saved plan of the head (StageWorkspace).
func (d *prepared) Plan(ctx context.Context) (*Plan, error) {
	d.mu.Lock()
	d.n++
	out := filepath.Join(d.dir, fmt.Sprintf("plan-%d.tfplan", d.n))
	d.mu.Unlock()
	return d.ws.Plan(ctx, PlanOptions{Out: out})
}

// Apply applies a saved plan of the head (StageWorkspace).
func (d *prepared) Apply(ctx context.Context, planFile string) error {
	return d.ws.Apply(ctx, planFile)
}

// PreFlight implements deploy.Prepared: terraform validated the
// configuration against the providers' schemas when it planned; nothing
// more can be checked without applying.
func (d *prepared) PreFlight(context.Context, *plan.Plan) error { return nil }

// Facts implements deploy.Prepared.
func (d *prepared) Facts() deploy.Facts { return deploy.Facts{} }

// Runner implements deploy.Prepared.
func (d *prepared) Runner(ctx context.Context, p *plan.Plan, opts deploy.RunOptions) (execute.Platform, error) {
	r := &Runner{QuickSync: d.spec.QuickSync}
	if d.ws != nil {
		// nil when cancelling: no stage plans or applies the head then.
		r.Head = d
		if d.plan != nil && d.plan.Fingerprint == p.Source.Desired {
			// The plan made now is the one shown (and, with --plan, the one
			// saved and verified): the first stage that plans applies it.
			r.Prepared = d.plan
		}
	}
	if p.Running != nil {
		running := p.Running.Hash
		r.Running = func(ctx context.Context) (StageWorkspace, func(), error) { return d.openRevision(ctx, running) }
	}
	return r, nil
}

// openRevision opens the app's workspace as it was at a past commit (for
// ROLLBACK), with the app's config of that commit (its vars, varFiles,
// workspace and flags go with its .tf files); the default local state of
// the working tree is linked in, so that a local backend sees the real
// state rather than none.
func (d *prepared) openRevision(ctx context.Context, hash string) (StageWorkspace, func(), error) {
	if d.revision == nil {
		return nil, nil, fmt.Errorf("commit %s cannot be checked out by this run", shortHash(hash))
	}
	rev, err := d.revision(hash)
	if err != nil {
		return nil, nil, err
	}
	tree, err := rev.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := linkLocalState(dirOf(d.p.opts.Root, d.app), dirOf(tree.Root, tree.App), false); err != nil {
		return nil, nil, err
	}
	past := &prepared{p: d.p, app: tree.App}
	if err := past.openHead(ctx, tree, false); err != nil {
		return nil, nil, err
	}
	return past, past.Close, nil
}

// Close implements deploy.Prepared.
func (d *prepared) Close() {
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

// linkLocalState points an exported tree's default local state (and its
// workspaces' states) at the working tree's, replacing a committed copy.
// With create (the head a sync applies from a copy), the default state is
// linked even before it exists, so that the first apply writes it in the
// working tree, not in the copy removed after the deployment.
func linkLocalState(appDir, exported string, create bool) error {
	for _, name := range []string{"terraform.tfstate", "terraform.tfstate.d"} {
		src := filepath.Join(appDir, name)
		if _, err := os.Lstat(src); err != nil && !(create && name == "terraform.tfstate") {
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

// ResultOf describes a terraform plan for the planner and the reports.
func ResultOf(bin *Binary, workspace string, p *Plan) *Result {
	r := &Result{Workspace: workspace, Human: p.Human, Fingerprint: p.Fingerprint}
	if bin != nil {
		r.Binary = bin.Flavor
		if bin.Version != nil {
			r.Binary += " " + bin.Version.String()
		}
	}
	for _, rc := range p.Resources {
		action := resultAction(rc.Actions)
		if action == "" {
			continue
		}
		r.Resources = append(r.Resources, ResultResource{Address: rc.Address, Action: action, Reason: rc.Reason})
	}
	sortResources(r.Resources)
	r.Counts = countResources(r.Resources)
	for _, o := range p.Outputs {
		action := resultAction([]string{o.Action})
		if action == "" {
			continue
		}
		r.Outputs = append(r.Outputs, ResultOutput{Name: o.Name, Action: action, Sensitive: o.Sensitive})
	}
	sort.Slice(r.Outputs, func(i, j int) bool { return r.Outputs[i].Name < r.Outputs[j].Name })
	return r
}

// resultAction names the action of terraform's action list; "" for no-op
// and read.
func resultAction(actions []string) string {
	has := map[string]bool{}
	for _, a := range actions {
		has[strings.ToLower(a)] = true
	}
	switch {
	case has["replace"] || has["create"] && has["delete"]:
		return ActionReplace
	case has["create"]:
		return ActionCreate
	case has["delete"]:
		return ActionDelete
	case has["update"]:
		return ActionUpdate
	case has["import"]:
		return ActionImport
	case has["forget"]:
		return ActionForget
	}
	return ""
}

// Drift implements drift.Platform: terraform refreshes the state and
// plans the head's configuration; what changed outside terraform and what
// a sync would change are the drift.
func (p *Platform) Drift(ctx context.Context, b *drift.Batch) {
	for i, app := range b.Apps {
		b.GoTree(i, p.opts.Root, func(ctx context.Context, root string, r *drift.AppResult) {
			ws, done, err := p.driftOpen(ctx, root, app)
			var skip *drift.SkipError
			switch {
			case errors.As(err, &skip):
				r.Status, r.Reason = drift.Skipped, skip.Reason
				return
			case err != nil:
				r.Status, r.Error = drift.Failed, err.Error()
				return
			}
			defer done()
			rep, err := ws.Drift(ctx)
			if err != nil {
				r.Status, r.Error = drift.Failed, err.Error()
				return
			}
			FillDrift(r, rep)
		})
	}
}

// driftWorkspace opens an application's workspace at the working tree for
// a drift check, terraform's own output not narrated (many applications
// are checked at once).
func (p *Platform) driftWorkspace(ctx context.Context, root string, app *config.App) (*Workspace, error) {
	_, _, provider, _, err := p.setup(app, nil)
	if err != nil {
		return nil, err
	}
	if provider != nil && provider.Terraform() != nil && !provider.Terraform().DriftDetectionEnabled {
		return nil, &drift.SkipError{Reason: "drift detection is off for platform provider " + provider.Name + " (driftDetectionEnabled: false)"}
	}
	if root != p.opts.Root {
		if err := linkLocalState(dirOf(p.opts.Root, app), dirOf(root, app), false); err != nil {
			return nil, err
		}
	}
	return p.open(ctx, app, dirOf(root, app), false, nil)
}

// dirOf is an application's directory in a tree.
func dirOf(root string, app *config.App) string {
	if app.Dir == "" || app.Dir == "." {
		return root
	}
	return filepath.Join(root, filepath.FromSlash(app.Dir))
}

func shortHash(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
