package deploy

import (
	"context"
	"sync"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/plan"
)

// Platform is one platform kind's part of every deployment: its
// planning, pre-flight, stages and rollback. Each kind implements it in
// its own package (internal/platform/<kind>), one registry maps kinds to
// them (internal/platform), and this package never knows a kind.
type Platform interface {
	// Plan plans a deployment of req.App: it renders or opens the desired
	// state at the head and at the running commit (each with the app's
	// config as it is at that commit), observes the live side when
	// req.Live (or always, for a kind whose changes are only known
	// against it, as Terraform's), and lays out the stages (plan.New). The
	// Prepared it returns is what a sync goes on with; the caller closes it.
	Plan(ctx context.Context, req PlanRequest) (*plan.Plan, Prepared, error)
}

// Prepared is what planning made that a sync goes on with: the rendered
// objects, an initialised workspace and its saved plan...
type Prepared interface {
	// PreFlight checks, before the deployment p changes anything, that
	// the platform accepts everything its stages will apply (Kubernetes: a
	// server-side dry run of every object). Its error names the object,
	// the field and the file:line the object comes from; nothing was
	// changed then.
	PreFlight(ctx context.Context, p *plan.Plan) error
	// Runner returns what runs the platform's stages (its quick sync stage
	// included) and its rollback, for a deployment of p (whose Running may
	// be the record's rather than the one planned, on a resume).
	Runner(ctx context.Context, p *plan.Plan, opts RunOptions) (execute.Platform, error)
	// Facts are what the generic stages need to know of the desired state.
	Facts() Facts
	// Close releases what planning made (temporary files, saved plans).
	Close()
}

// RunOptions are the choices of a sync that reach the platform.
type RunOptions struct {
	// ForceConflicts takes over what other managers own (Kubernetes:
	// fields of other field managers, server-side apply's force).
	ForceConflicts bool
}

// Facts are what the generic stages need to know of a platform's desired
// state.
type Facts struct {
	// Secrets are values the desired state holds that are secret: masked
	// in what SCRIPT_RUN scripts print.
	Secrets []string
	// Namespace is the Kubernetes namespace ANALYSIS query templates see as
	// {{ .K8s.Namespace }}; empty for other kinds.
	Namespace string
}

// PlanRequest is what a platform plans from.
type PlanRequest struct {
	// App is the application as configured at the head.
	App *config.App
	// Input is what the strategy rules read (plan.New).
	Input plan.Input
	// Head is the application at the commit deployed: the working tree.
	Head *Revision
	// Running is the application at its last successful deployment; nil
	// when none is recorded (the first deployment).
	Running *Revision
	// Base is compared with the head when there is no running deployment
	// (`pipe plan --base`); nil when not given.
	Base *Revision
	// Live asks for the changes against the live side (`pipe plan
	// --live`, a sync of a saved live plan).
	Live bool
	// ForceConflicts: see RunOptions; a live plan dry-runs as such a sync
	// would apply.
	ForceConflicts bool
	// Cancel: the plan is for ending a deployment (pipe cancel): the
	// stages and what the rollback needs, nothing else (a platform that
	// cannot plan, e.g. with expired credentials, can still be cancelled).
	Cancel bool
	// Revision opens the application at another commit (a resumed
	// deployment rolls back to the record's running commit).
	Revision func(hash string) (*Revision, error)
}

// Revision is the application at one commit. Its tree is checked out when
// first opened (the working tree for the head, an export of the commit
// otherwise); exports are removed once planning is done and when the
// deployment ends (a later Open exports again), so that a job killed
// mid-deployment leaves none behind in the common case.
type Revision struct {
	Commit plan.Commit
	open   func(ctx context.Context) (*Tree, error)

	mu   sync.Mutex
	tree *Tree
}

// Tree is a revision's files and the application's config there.
type Tree struct {
	// Root is the root of the repository's tree at the commit.
	Root string
	// App is the application's config as it is at the commit (its input,
	// its values, its pipeline): a past commit is rendered with its own.
	App *config.App
}

// Open checks the revision out, once until released, and returns its
// tree.
func (r *Revision) Open(ctx context.Context) (*Tree, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tree != nil {
		return r.tree, nil
	}
	t, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	r.tree = t
	return t, nil
}

// release forgets the checked out tree (its files are removed by whoever
// made them): the next Open checks it out again.
func (r *Revision) release() {
	r.mu.Lock()
	r.tree = nil
	r.mu.Unlock()
}

// NewRevision is a revision whose tree is opened by open (for tests and
// for callers that have the tree already).
func NewRevision(c plan.Commit, open func(ctx context.Context) (*Tree, error)) *Revision {
	return &Revision{Commit: c, open: open}
}
