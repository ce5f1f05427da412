package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/gitops-pipe/pipe/internal/source"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/unseal"
)

// Records is the part of the deployment record store planning reads.
type Records interface {
	LastSuccessful(ctx context.Context, app string) (*state.Record, error)
	// History returns the app's records, newest first (all when limit is 0).
	History(ctx context.Context, app string, limit int) ([]*state.Record, error)
}

// Env is what a run works with. The CLI builds it from flags, environment
// and the repository; nothing here reads them itself.
type Env struct {
	// Root is the repository's working tree, checked out at Head.
	Root string
	Repo *config.Repo
	Git  *source.Repo
	// Records is nil when the records are not read (e.g. --no-records).
	Records Records
	// Platforms returns the platform of a kind (the registry, built by the
	// CLI); an error says the kind cannot be deployed by this run.
	Platforms func(kind config.Kind) (Platform, error)
	Now       func() time.Time
	// TempDir is where past revisions are exported.
	TempDir string
	// HeadFromGit plans the head from its commit, exported like past
	// revisions, rather than from the working tree: the checkout of an
	// unreviewed change may hold what no commit has (files earlier CI
	// steps left, such as credentials) and Git's own files.
	HeadFromGit bool
	// Secrets are the run's secret values (those decrypted from the
	// repository among them), masked in the output of the scripts it runs
	// (SCRIPT_RUN) with those added while they run; nil: none.
	Secrets *redact.Set
	// Unsealer renders the decryption targets and attachments of every
	// tree an application is planned, synced or rolled back from, in a
	// copy (an export; the working tree is copied first); nil leaves the
	// files as they are.
	Unsealer *unseal.Unsealer
}

// PlanOptions are the choices of one plan.
type PlanOptions struct {
	// Head is the revision deployed (the working tree must be at it).
	Head string
	// Base is compared with the head when the app has no successful
	// deployment recorded; empty means none.
	Base string
	// Strategy forces the strategy; empty lets the planner decide.
	Strategy plan.Strategy
	// Commander is who asked by hand, when not triggered by a commit.
	Commander string
	// Live plans against the live side (`pipe plan --live`).
	Live bool
	// ForceConflicts: a live plan dry-runs as `pipe sync
	// --force-conflicts` would apply.
	ForceConflicts bool
}

// Plan computes the plan of one application.
func (e *Env) Plan(ctx context.Context, app *config.App, opts PlanOptions) (*plan.Plan, error) {
	p, prep, err := e.plan(ctx, app, opts, false)
	if prep != nil {
		prep.Close()
	}
	return p, err
}

// planned is a platform's Prepared with the trees deploy checked out for
// it, removed on Close.
type planned struct {
	Prepared
	trees *trees
}

func (p *planned) Close() {
	p.Prepared.Close()
	p.trees.closeAll()
}

// plan computes the plan of an application of any kind through its
// platform. With cancel, the platform is asked only for what ending a
// deployment needs.
func (e *Env) plan(ctx context.Context, app *config.App, opts PlanOptions, cancel bool) (*plan.Plan, *planned, error) {
	if e.Platforms == nil {
		return nil, nil, fmt.Errorf("no platform can plan %s (a %s)", app.Name, app.Kind)
	}
	pf, err := e.Platforms(app.Kind)
	if err != nil {
		return nil, nil, err
	}
	head, headInfo, err := e.commit(opts.Head)
	if err != nil {
		return nil, nil, err
	}
	running, err := e.running(ctx, app)
	if err != nil {
		return nil, nil, err
	}
	ts := &trees{e: e, app: app}
	headRev := NewRevision(plan.Commit{Hash: head.Hash, Subject: headInfo.Subject}, func(ctx context.Context) (*Tree, error) {
		if e.Unsealer != nil && unseal.Needed(app) {
			return ts.workTree(ctx, head)
		}
		return &Tree{Root: e.Root, App: app}, nil
	})
	if e.HeadFromGit {
		if headRev, err = ts.revision(head.Hash); err != nil {
			return nil, nil, err
		}
	}
	req := PlanRequest{
		App:            app,
		Live:           opts.Live,
		ForceConflicts: opts.ForceConflicts,
		Cancel:         cancel,
		Head:           headRev,
		Revision:       ts.revision,
		Input: plan.Input{
			App:         plan.AppOf(app),
			Spec:        app.Spec.Generic(),
			Head:        plan.Commit{Hash: head.Hash, Subject: headInfo.Subject},
			HeadMessage: headInfo.Message(),
			Strategy:    opts.Strategy,
			Commander:   opts.Commander,
			Now:         e.Now(),
		},
	}
	if req.Input.ConfigDigest, err = plan.ConfigDigest(app); err != nil {
		return nil, nil, err
	}
	if running != nil {
		if req.Running, err = ts.revision(running.Target.Hash); err != nil {
			return nil, nil, fmt.Errorf("the last successful deployment of %s (%s): %w", app.Name, short(running.Target.Hash), err)
		}
		c := req.Running.Commit
		req.Input.Running = &c
		if files, err := e.Git.ChangedFiles(source.Revision{Name: running.Target.Hash, Hash: running.Target.Hash}, head); err == nil {
			req.Input.ChangedFiles = files
		}
	} else if opts.Base != "" {
		if req.Base, err = ts.revision(opts.Base); err != nil {
			return nil, nil, fmt.Errorf("--base %s: %w", opts.Base, err)
		}
	}
	p, prep, err := pf.Plan(ctx, req)
	if err != nil {
		ts.closeAll()
		return nil, nil, err
	}
	// What planning checked out is not kept: a stage that needs a past
	// commit again (a rollback) checks it out again.
	ts.close()
	return p, &planned{Prepared: prep, trees: ts}, nil
}

// trees checks out the application's past revisions, each once, and
// removes them when closed.
type trees struct {
	e    *Env
	app  *config.App
	mu   sync.Mutex
	dirs []string
	// kept are removed only when the deployment ends (closeAll).
	kept []string
	revs map[string]*Revision
}

// revision returns the application at rev (a commit or a name Git
// resolves), its tree exported when first opened.
func (t *trees) revision(rev string) (*Revision, error) {
	r, info, err := t.e.commit(rev)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if got := t.revs[r.Hash]; got != nil {
		return got, nil
	}
	c := plan.Commit{Hash: r.Hash, Subject: info.Subject}
	out := NewRevision(c, func(ctx context.Context) (*Tree, error) { return t.export(ctx, r) })
	if t.revs == nil {
		t.revs = map[string]*Revision{}
	}
	t.revs[r.Hash] = out
	return out, nil
}

// export writes the commit's tree apart (the working tree is not touched),
// reads the application's config there and renders its secrets and
// attachments.
func (t *trees) export(ctx context.Context, r source.Revision) (*Tree, error) {
	dir, err := t.tempDir(false)
	if err != nil {
		return nil, err
	}
	if err := t.e.Git.ExportTree(r, dir); err != nil {
		return nil, err
	}
	app, err := appAt(dir, t.app)
	if err != nil {
		return nil, fmt.Errorf("application %s at %s: %w", t.app.Name, r.Short(), err)
	}
	if t.e.Unsealer != nil {
		if err := t.e.Unsealer.Apply(ctx, dir, app); err != nil {
			return nil, fmt.Errorf("at %s: %w", r.Short(), err)
		}
	}
	return &Tree{Root: dir, App: app}, nil
}

// workTree copies the working tree (its commit and its changes) apart and
// renders the application's secrets and attachments there: the head of an
// application that renders files. The copy is kept until the deployment
// ends (the platform deploys from it), not only while planning.
func (t *trees) workTree(ctx context.Context, head source.Revision) (*Tree, error) {
	dir, err := t.tempDir(true)
	if err != nil {
		return nil, err
	}
	if err := t.e.Git.ExportWorkTree(head, dir); err != nil {
		return nil, err
	}
	if err := t.e.Unsealer.Apply(ctx, dir, t.app); err != nil {
		return nil, err
	}
	return &Tree{Root: dir, App: t.app}, nil
}

// tempDir makes a directory for a tree, removed by close (after planning)
// or, when kept, by closeAll (when the deployment ends).
func (t *trees) tempDir(keep bool) (string, error) {
	dir, err := os.MkdirTemp(t.e.TempDir, config.ExportDirPrefix)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	if keep {
		t.kept = append(t.kept, dir)
	} else {
		t.dirs = append(t.dirs, dir)
	}
	t.mu.Unlock()
	return dir, nil
}

// appAt reads the application's config in an exported tree: from the file
// it has at the head, else wherever it was then (the file moved since).
func appAt(root string, app *config.App) (*config.App, error) {
	if repo, err := config.LoadRepo(root, app.File); err == nil {
		if a, err := repo.App(app.Name); err == nil {
			return a, nil
		}
	}
	repo, err := config.LoadRepo(root)
	if err != nil {
		return nil, err
	}
	a, err := repo.App(app.Name)
	if err != nil {
		return nil, err
	}
	if a.Kind != app.Kind {
		return nil, fmt.Errorf("it was a %s then, it is a %s now", a.Kind, app.Kind)
	}
	return a, nil
}

// close removes the exported trees; their revisions export again when
// opened.
func (t *trees) close() {
	t.mu.Lock()
	revs := make([]*Revision, 0, len(t.revs))
	for _, r := range t.revs {
		revs = append(revs, r)
	}
	dirs := t.dirs
	t.dirs = nil
	t.mu.Unlock()
	for _, r := range revs {
		r.release()
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

// closeAll removes every tree, the kept ones too.
func (t *trees) closeAll() {
	t.close()
	t.mu.Lock()
	kept := t.kept
	t.kept = nil
	t.mu.Unlock()
	for _, d := range kept {
		os.RemoveAll(d)
	}
}

func (e *Env) commit(rev string) (source.Revision, *source.Commit, error) {
	if rev == "" {
		rev = "HEAD"
	}
	r, err := e.Git.ResolveRevision(rev)
	if err != nil {
		return source.Revision{}, nil, err
	}
	info, err := e.Git.CommitInfo(r)
	if err != nil {
		return source.Revision{}, nil, err
	}
	return r, info, nil
}

// running returns the app's last successful deployment, nil when none.
func (e *Env) running(ctx context.Context, app *config.App) (*state.Record, error) {
	if e.Records == nil {
		return nil, nil
	}
	rec, err := e.Records.LastSuccessful(ctx, app.Name)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the deployment records of %s: %w", app.Name, err)
	}
	return rec, nil
}

func short(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
