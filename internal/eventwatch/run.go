package eventwatch

import (
	"context"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitops-pipe/pipe/internal/ctxtime"
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
	SameChange(a, b plumbing.Hash) bool
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
// was done, each delivery as soon as it is pushed.
//
// Every attempt reads the branch's tip (and the pull request branches'),
// then the events, then pushes by compare-and-swap against what it read: a
// commit another job pushed meanwhile fails the push, and the next attempt
// reads the events again, so a value is never written over one from a newer
// event. The error is for the run as a whole (events or branch unreadable,
// a push refused): what was delivered before it is in the result and
// recorded.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.Sleep == nil {
		o.Sleep = ctxtime.Sleep
	}
	d := &deliverer{o: o, res: &Result{}, delivered: map[string]*Item{}}
	for attempt := 1; ; attempt++ {
		moved, err := d.attempt(ctx)
		if err != nil || !moved {
			return d.res, err
		}
		if attempt >= o.MaxAttempts {
			return d.res, fmt.Errorf("%s or a pull request branch moved under each of %d attempts: %w (run again)", d.res.Branch, attempt, state.ErrBranchMoved)
		}
		o.Log("a branch moved while committing; reading the branch and the events again (attempt %d of %d)", attempt+1, o.MaxAttempts)
		if err := o.Sleep(ctx, backoff(attempt)); err != nil {
			return d.res, err
		}
	}
}

// record writes the handlings of the delivered tasks and the outdated
// events. It runs even when the run was interrupted: what was pushed must
// be recorded.
func (d *deliverer) record(ctx context.Context, tasks []*task, outdated []*state.Handling) error {
	if d.o.DryRun {
		return nil
	}
	records := outdated
	for _, t := range tasks {
		it := t.item
		if it.Status != state.HandledSuccess && it.Status != state.HandledFailure {
			continue
		}
		h := handling(t.ev, t.w, it.Status, it.Message, d.o.Now(), d.o.By)
		h.Commit, h.Branch, h.PullRequest = it.Commit, it.Branch, it.PullRequest
		records = append(records, h)
		d.delivered[itemKey(it)] = it
	}
	if len(records) == 0 {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	return d.o.Store.RecordHandlings(rctx, records)
}

func itemKey(it *Item) string { return it.Watcher + "\x00" + it.Event.ID }
