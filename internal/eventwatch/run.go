package eventwatch

import (
	"context"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitops-pipe/pipe/internal/report"
	"github.com/gitops-pipe/pipe/internal/state"
)

// Store is the repository the watcher reads events from and writes to;
// *state.GitStore implements it.
type Store interface {
	Events(ctx context.Context) (*state.EventLog, error)
	RecordHandlings(ctx context.Context, hs []*state.Handling) error
	FetchBranch(ctx context.Context, name string) (state.BranchTip, error)
	RemoteBranch(ctx context.Context, name string) (plumbing.Hash, error)
	ReadFile(commit plumbing.Hash, path string) ([]byte, error)
	CommitFiles(parent plumbing.Hash, files map[string][]byte, msg string) (plumbing.Hash, error)
	PushBranch(ctx context.Context, name string, expected, next plumbing.Hash, also ...plumbing.Hash) error
}

// Options configure a run.
type Options struct {
	Store    Store
	Watchers []Watcher
	// Branch is the branch to update ("": the remote's default branch).
	Branch string
	// PullRequests opens the requests of makePullRequest watchers; nil:
	// their branch is pushed and no request is opened (as PipeCD does).
	PullRequests report.PullRequester
	// Labels are put on the pull requests.
	Labels []string
	// DryRun computes the changes without pushing or recording anything.
	DryRun bool
	// MaxAge: an unhandled event older than this is OUTDATED (0: none).
	MaxAge time.Duration
	// MaxAttempts bounds the pushes of a moved branch (default 5).
	MaxAttempts int
	Now         func() time.Time
	// By is recorded as who handled the events (a CI run URL, a user).
	By     string
	RunURL string
	// Log narrates (may be nil).
	Log func(format string, args ...any)
	// Sleep waits between attempts (default: a timer honouring ctx).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Result is the outcome of a run.
type Result struct {
	Branch string `json:"branch"`
	// Base is the branch's commit the run started from, Head the one it
	// pushed (equal when nothing was committed).
	Base  string  `json:"base"`
	Head  string  `json:"head"`
	Items []*Item `json:"items"`
}

// Failed reports whether an item failed (FAILURE or ERROR).
func (r *Result) Failed() bool {
	for _, it := range r.Items {
		if it.Status == state.HandledFailure || it.Status == StatusError {
			return true
		}
	}
	return false
}

// Run handles the events the watchers have not handled yet: commits their
// values on the branch (makePullRequest: proposes them), then records what
// was done. The error is for the run as a whole (events or branch
// unreadable, a push refused): items delivered before it are still in the
// result and recorded.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	log, err := o.Store.Events(ctx)
	if err != nil {
		return nil, err
	}
	now := o.Now()
	tasks, outdated, items := decide(log, o.Watchers, now, o.MaxAge, o.By)
	res := &Result{Items: items}
	tip, err := o.Store.FetchBranch(ctx, o.Branch)
	if err != nil {
		return nil, err
	}
	res.Branch, res.Base, res.Head = tip.Name, tip.Hash.String(), tip.Hash.String()
	var direct, proposed []*task
	for _, t := range tasks {
		if t.w.MakePullRequest {
			proposed = append(proposed, t)
		} else {
			direct = append(direct, t)
		}
	}
	d := &deliverer{o: o, res: res}
	var runErr error
	if len(direct) > 0 {
		runErr = d.commitToBranch(ctx, tip, direct)
	}
	if runErr == nil && len(proposed) > 0 {
		runErr = d.propose(ctx, proposed)
	}
	for _, t := range tasks {
		if t.item.Status == "" {
			t.item.Status, t.item.Message = StatusError, "not attempted: an earlier delivery failed"
		}
	}
	if o.DryRun {
		return res, runErr
	}
	records := outdated
	for _, t := range tasks {
		if t.item.Status == state.HandledSuccess || t.item.Status == state.HandledFailure {
			h := handling(t.ev, t.w, t.item.Status, t.item.Message, o.Now(), o.By)
			h.Commit, h.Branch, h.PullRequest = t.item.Commit, t.item.Branch, t.item.PullRequest
			records = append(records, h)
		}
	}
	if err := o.Store.RecordHandlings(ctx, records); err != nil && runErr == nil {
		runErr = err
	}
	return res, runErr
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
