// Package drift owns drift detection's verdicts and reports: whether what
// runs on each platform is still what Git says, application by
// application. The checker groups the applications by kind and hands each
// group to its platform (drift.Platform, implemented by
// internal/platform/<kind>), which compares the live state with Git its own
// way and fills each application's result; the checker bounds how many
// checks run at once. The result is a value (Report) that the CLI prints,
// marshals and records; this package never prints.
package drift

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Status is the verdict on one application.
type Status string

const (
	InSync    Status = "IN_SYNC"
	OutOfSync Status = "OUT_OF_SYNC"
	// Failed: the check could not be made (render or cluster error).
	Failed Status = "FAILED"
	// Skipped: drift detection does not support the application's kind.
	Skipped Status = "SKIPPED"
)

// Object actions.
const (
	ActionAdded   = "added"   // in Git, not live
	ActionDeleted = "deleted" // live, not in Git
	ActionChanged = "changed" // both, with drifted fields
)

// ObjectDrift is one drifted object.
type ObjectDrift struct {
	// Key is group:Kind:namespace:name; Object the same in words.
	Key    string      `json:"key"`
	Object string      `json:"object"`
	Action string      `json:"action"`
	Fields []FieldDiff `json:"fields,omitempty"`
	Note   string      `json:"note,omitempty"`
}

// AppResult is the verdict on one application.
type AppResult struct {
	App    string `json:"app"`
	Kind   string `json:"kind"`
	Dir    string `json:"dir"`
	Status Status `json:"status"`
	// Objects is the number of objects compared.
	Objects int           `json:"objects"`
	Added   int           `json:"added"`
	Changed int           `json:"changed"`
	Deleted int           `json:"deleted"`
	Drift   []ObjectDrift `json:"drift,omitempty"`
	// Ignored are the keys of objects skipped for their
	// pipecd.dev/ignore-drift-detection annotation.
	Ignored []string `json:"ignored,omitempty"`
	Error   string   `json:"error,omitempty"`
	// Reason says why an application was skipped.
	Reason string `json:"reason,omitempty"`
}

// Summary is "2 changed, 1 deleted" style.
func (r *AppResult) Summary() string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{r.Added, "added"}, {r.Changed, "changed"}, {r.Deleted, "deleted"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(parts) == 0 {
		return "no drift"
	}
	return joinComma(parts)
}

func joinComma(s []string) string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}

// Report is the result of one drift check.
type Report struct {
	SchemaVersion int         `json:"schemaVersion"`
	Commit        string      `json:"commit,omitempty"`
	Shard         string      `json:"shard,omitempty"`
	Apps          []AppResult `json:"apps"`
	Stats         Stats       `json:"stats"`
}

// Stats measure the work of a check.
type Stats struct {
	Apps      int           `json:"apps"`
	ListCalls int           `json:"listCalls"`
	DryRuns   int           `json:"dryRuns"`
	Duration  time.Duration `json:"durationNs"`
}

// Drifted reports whether any application is out of sync.
func (r *Report) Drifted() bool {
	for _, a := range r.Apps {
		if a.Status == OutOfSync {
			return true
		}
	}
	return false
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, a := range r.Apps {
		if a.Status == Failed {
			return true
		}
	}
	return false
}

// Platform checks the drift of one kind's applications; each platform
// kind implements it in its own package (internal/platform/<kind>).
type Platform interface {
	// Drift checks the applications of b, all of the platform's kind,
	// against Git at the working tree: it hands the check of each to b.Go,
	// which runs it in the checker's pool of workers and whose result it
	// fills. Work the applications share (one listing of a cluster for all
	// its applications) is the platform's to share between its checks.
	// It returns once every check was handed over.
	Drift(ctx context.Context, b *Batch)
}

// Batch is one kind's share of a drift check.
type Batch struct {
	// Apps are the applications to check.
	Apps []*config.App

	run     func(i int, check func(ctx context.Context, r *AppResult))
	prepare func(ctx context.Context, root string, app *config.App) (string, func(), error)
	lists   *atomic.Int64
	dryRuns *atomic.Int64
}

// Go runs the check of Apps[i] in the checker's pool; check fills r (its
// App, Kind and Dir are set) with the verdict.
func (b *Batch) Go(i int, check func(ctx context.Context, r *AppResult)) { b.run(i, check) }

// GoTree is Go for a check that reads Apps[i]'s files: check gets the
// tree to read them from, root itself or, for an application whose config
// renders files first (decryption targets, attachments), a copy of root
// with those files rendered, removed once check returns. An application
// whose files cannot be prepared is FAILED with the reason.
func (b *Batch) GoTree(i int, root string, check func(ctx context.Context, root string, r *AppResult)) {
	b.run(i, func(ctx context.Context, r *AppResult) {
		dir := root
		if b.prepare != nil {
			d, done, err := b.prepare(ctx, root, b.Apps[i])
			if err != nil {
				r.Status, r.Error = Failed, err.Error()
				return
			}
			defer done()
			dir = d
		}
		check(ctx, dir, r)
	})
}

// Count adds to the report's counts of the API calls made: list requests
// and dry runs.
func (b *Batch) Count(lists, dryRuns int) {
	b.lists.Add(int64(lists))
	b.dryRuns.Add(int64(dryRuns))
}

// Checker checks applications for drift.
type Checker struct {
	// Platforms returns the platform of a kind; an error skips the kind's
	// applications with the error as the reason ("drift detection of a
	// LambdaApp is not supported yet").
	Platforms func(kind config.Kind) (Platform, error)
	// Validate, when set, is asked about each application first: one it
	// refuses (an invalid config file) is FAILED with its error, unchecked.
	Validate func(app *config.App) error
	// Parallelism bounds the applications checked at once (default 8).
	Parallelism int
	// Progress, when set, is called as each application's check ends.
	Progress func(app string, st Status, d time.Duration)
	Now      func() time.Time
	// Prepare, when set, gives Batch.GoTree's checks their tree: it
	// renders an application's decryption targets and attachments in a
	// copy of root.
	Prepare func(ctx context.Context, root string, app *config.App) (string, func(), error)
}

// Check checks apps, in parallel, and returns their verdicts in the order
// of apps. It never fails as a whole: a problem with one application (or
// with its platform) is that application's FAILED or SKIPPED verdict.
func (c *Checker) Check(ctx context.Context, apps []*config.App) *Report {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	rep := &Report{SchemaVersion: 1, Apps: make([]AppResult, len(apps))}
	var kinds []config.Kind
	byKind := map[config.Kind][]int{}
	for i, ap := range apps {
		r := &rep.Apps[i]
		r.App, r.Kind, r.Dir = ap.Name, string(ap.Kind), ap.Dir
		if c.Validate != nil {
			if err := c.Validate(ap); err != nil {
				r.Status, r.Error = Failed, err.Error()
				continue
			}
		}
		if _, ok := byKind[ap.Kind]; !ok {
			kinds = append(kinds, ap.Kind)
		}
		byKind[ap.Kind] = append(byKind[ap.Kind], i)
	}
	par := c.Parallelism
	if par <= 0 {
		par = 8
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var lists, dryRuns atomic.Int64
	for _, kind := range kinds {
		idx := byKind[kind]
		var pf Platform
		err := fmt.Errorf("drift detection of a %s is not supported yet", kind)
		if c.Platforms != nil {
			pf, err = c.Platforms(kind)
		}
		if err != nil {
			for _, i := range idx {
				rep.Apps[i].Status, rep.Apps[i].Reason = Skipped, err.Error()
			}
			continue
		}
		b := &Batch{lists: &lists, dryRuns: &dryRuns, prepare: c.Prepare}
		for _, i := range idx {
			b.Apps = append(b.Apps, apps[i])
		}
		b.run = func(j int, check func(ctx context.Context, r *AppResult)) {
			i := idx[j]
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				t0 := now()
				check(ctx, &rep.Apps[i])
				if c.Progress != nil {
					c.Progress(apps[i].Name, rep.Apps[i].Status, now().Sub(t0))
				}
			}()
		}
		pf.Drift(ctx, b)
	}
	wg.Wait()
	rep.Stats.Apps = len(apps)
	rep.Stats.ListCalls = int(lists.Load())
	rep.Stats.DryRuns = int(dryRuns.Load())
	rep.Stats.Duration = now().Sub(start)
	return rep
}

// Finish sets a checked application's verdict from its drift: OUT_OF_SYNC
// when an object drifted, else IN_SYNC.
func (r *AppResult) Finish() {
	r.Status = InSync
	if len(r.Drift) > 0 {
		r.Status = OutOfSync
	}
}

// SkipError, returned by a platform's check of an application, skips it
// with Reason (e.g. drift detection is off for its platform provider).
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }
