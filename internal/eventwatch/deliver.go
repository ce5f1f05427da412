package eventwatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitops-pipe/pipe/internal/report"
	"github.com/gitops-pipe/pipe/internal/state"
)

// deliverer commits the tasks' changes and pushes or proposes them.
type deliverer struct {
	o   Options
	res *Result
	// delivered holds the items recorded by earlier attempts (by
	// itemKey): a later attempt reads them as HANDLED.
	delivered map[string]*Item
}

// attempt reads the branch, the pull request branches and the events,
// delivers what the watchers have not handled, and records it. moved is
// true when a push found its branch moved: nothing of that delivery was
// recorded, and a new attempt reads everything again.
func (d *deliverer) attempt(ctx context.Context) (moved bool, err error) {
	tip, err := d.o.Store.FetchBranch(ctx, d.o.Branch)
	if err != nil {
		return false, err
	}
	d.res.Branch, d.res.Base = tip.Name, tip.Hash.String()
	if d.res.Head == "" {
		d.res.Head = tip.Hash.String()
	}
	prTips := map[string]plumbing.Hash{}
	for _, w := range d.o.Watchers {
		if !w.MakePullRequest || d.o.DryRun {
			continue
		}
		b := prBranch(&w)
		if _, seen := prTips[b]; seen {
			continue
		}
		if prTips[b], err = d.o.Store.RemoteBranch(ctx, b); err != nil {
			return false, err
		}
	}
	// The events are read after the branches: whatever a job pushed to
	// them came from events this read includes.
	log, err := d.o.Store.Events(ctx)
	if err != nil {
		return false, err
	}
	tasks, outdated, items := decide(log, d.o.Watchers, tip.Name, d.o.Now(), d.o.MaxAge, d.o.By)
	for i, it := range items {
		if prev := d.delivered[itemKey(it)]; prev != nil && it.Status == StatusHandled {
			items[i] = prev // what an earlier attempt did, rather than "handled"
		}
	}
	d.res.Items = items
	var direct, proposed []*task
	for _, t := range tasks {
		if t.w.MakePullRequest {
			proposed = append(proposed, t)
		} else {
			direct = append(direct, t)
		}
	}
	head := tip.Hash
	if len(direct) > 0 {
		if head, moved, err = d.commitToBranch(ctx, tip, direct); err != nil || moved {
			return moved, errors.Join(err, d.record(ctx, nil, outdated))
		}
	}
	if err := d.record(ctx, direct, outdated); err != nil {
		return false, err
	}
	var errs []error
	for _, g := range groupByEvent(proposed) {
		m, err := d.proposeGroup(ctx, head, prTips[prBranch(g[0].w)], g)
		moved = moved || m
		errs = append(errs, err, d.record(ctx, g, nil))
	}
	return moved, errors.Join(errs...)
}

// build applies tasks one after the other on top of base, one commit per
// task that changes something, and returns the last commit (base when
// nothing changed). Each task's item says what happened to it.
func (d *deliverer) build(base plumbing.Hash, tasks []*task) (plumbing.Hash, error) {
	fs := &files{read: d.o.Store.ReadFile, base: base, data: map[string][]byte{}}
	head := base
	for _, t := range tasks {
		it := t.item
		it.Changes, it.Commit, it.Branch, it.PullRequest = nil, "", "", ""
		if err := CheckValue(t.ev.Value); err != nil {
			it.Status, it.Message = state.HandledFailure, err.Error()
			continue
		}
		msg, err := commitMessage(t.w, t.ev)
		if err != nil {
			it.Status, it.Message = state.HandledFailure, err.Error()
			continue
		}
		changed, changes := apply(t, fs)
		it.Changes = changes
		fail := failures(changes)
		if len(changed) == 0 {
			if fail != "" {
				it.Status, it.Message = state.HandledFailure, fail
			} else {
				it.Status, it.Message = state.HandledSuccess, "the files already hold the value"
			}
			continue
		}
		c, err := d.o.Store.CommitFiles(head, changed, msg)
		if err != nil {
			return head, fmt.Errorf("commit the changes of %s: %w", t.w.ID, err)
		}
		head, it.Commit = c, c.String()
		it.Status, it.Message = state.HandledSuccess, ""
		if fail != "" {
			// The other replacements still apply; the event failed.
			it.Status, it.Message = state.HandledFailure, "partly applied: "+fail
		}
		if d.o.DryRun && it.Status == state.HandledSuccess {
			it.Status = StatusPlanned
		}
	}
	return head, nil
}

// commitToBranch commits the tasks on the branch and pushes them on top of
// tip. moved: the branch is no longer at tip (nothing was pushed).
func (d *deliverer) commitToBranch(ctx context.Context, tip state.BranchTip, tasks []*task) (head plumbing.Hash, moved bool, err error) {
	head, err = d.build(tip.Hash, tasks)
	if err != nil {
		markError(tasks, err.Error())
		return tip.Hash, false, err
	}
	forCommitted(tasks, func(it *Item) {
		it.Branch = tip.Name
	})
	if head == tip.Hash || d.o.DryRun {
		return head, false, nil
	}
	err = d.o.Store.PushBranch(ctx, tip.Name, tip.Hash, head)
	switch {
	case errors.Is(err, state.ErrBranchMoved):
		d.o.Log("%s moved while committing (%v)", tip.Name, err)
		markError(tasks, "not pushed: "+err.Error())
		return tip.Hash, true, nil
	case err != nil:
		markError(tasks, fmt.Sprintf("push to %s: %v", tip.Name, err))
		return tip.Hash, false, err
	}
	d.res.Head = head.String()
	d.o.Log("pushed %s to %s", short(head), tip.Name)
	return head, false, nil
}

// groupByEvent groups tasks by their event's identity, in order.
func groupByEvent(tasks []*task) [][]*task {
	var groups [][]*task
	index := map[string]int{}
	for _, t := range tasks {
		k := t.w.Key()
		if i, ok := index[k]; ok {
			groups[i] = append(groups[i], t)
			continue
		}
		index[k] = len(groups)
		groups = append(groups, []*task{t})
	}
	return groups
}

// proposeGroup pushes the changes of one event identity's tasks, made on
// base, to that identity's branch (by compare-and-swap from cur, its value
// when the attempt began) and opens or updates its pull request. moved:
// the branch was no longer at cur.
func (d *deliverer) proposeGroup(ctx context.Context, base, cur plumbing.Hash, g []*task) (moved bool, err error) {
	head, err := d.build(base, g)
	if err != nil {
		markError(g, err.Error())
		return false, err
	}
	if head == base {
		return false, nil
	}
	branch := prBranch(g[0].w)
	forCommitted(g, func(it *Item) {
		it.Branch = branch
	})
	if d.o.DryRun {
		return false, nil
	}
	if cur.IsZero() || !d.sameAsRemote(ctx, branch, cur, head) {
		err = d.o.Store.PushBranch(ctx, branch, cur, head, base)
		switch {
		case errors.Is(err, state.ErrBranchMoved):
			markError(g, "not pushed: "+err.Error())
			return true, nil
		case err != nil:
			markError(g, fmt.Sprintf("push to %s: %v", branch, err))
			return false, err
		}
		d.o.Log("pushed %s to %s", short(head), branch)
	} else {
		// The branch holds this change already: keep its commit (a new one
		// would re-run the pull request's checks for nothing).
		forCommitted(g, func(it *Item) {
			it.Commit = cur.String()
		})
	}
	if d.o.PullRequests == nil {
		forCommitted(g, func(it *Item) {
			it.Message = joinMsg(it.Message, "branch pushed; no pull request opened (--forge none, or no GitHub or GitLab token): open one from "+branch)
		})
		return false, nil
	}
	pr, err := d.o.PullRequests.EnsurePullRequest(ctx, report.PullRequestSpec{
		Head: branch, Base: d.res.Branch, Title: title(g), Body: report.EventPullRequestBody(proposal(g, d.o.RunURL)), Labels: d.o.Labels,
	})
	if err != nil && pr.URL == "" {
		markError(g, fmt.Sprintf("branch %s pushed, but the pull request: %v", branch, err))
		return false, err
	}
	note := ""
	if err != nil { // opened or updated; labelling it failed
		d.o.Log("warning: %s: %v", pr.URL, err)
		note = "labels not set: " + err.Error()
	}
	verb := "updated"
	if pr.Created {
		verb = "opened"
	}
	d.o.Log("%s %s for %s", verb, pr.URL, branch)
	forCommitted(g, func(it *Item) {
		it.PullRequest = pr.URL
		it.Message = joinMsg(it.Message, note)
	})
	return false, nil
}

// sameAsRemote reports whether the remote branch, at cur, holds the change
// head makes (same tree on the same base).
func (d *deliverer) sameAsRemote(ctx context.Context, branch string, cur, head plumbing.Hash) bool {
	tip, err := d.o.Store.FetchBranch(ctx, branch)
	return err == nil && tip.Hash == cur && d.o.Store.SameChange(cur, head)
}

func joinMsg(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// title is the pull request's title: the first change's commit subject.
func title(g []*task) string {
	for _, t := range g {
		if t.item.Commit == "" {
			continue
		}
		if msg, err := commitMessage(t.w, t.ev); err == nil {
			s, _, _ := strings.Cut(msg, "\n")
			return s
		}
	}
	return fmt.Sprintf("Replace values with %q set by Event %q", g[0].ev.Value, g[0].ev.Name)
}

func proposal(g []*task, runURL string) report.EventProposal {
	ev := g[0].ev
	p := report.EventProposal{Event: ev.Name, Labels: ev.Labels, Value: ev.Value, Contexts: ev.Contexts,
		Registered: ev.CreatedAt, By: ev.By, RunURL: runURL}
	if ev.Commit != nil {
		p.SourceCommit, p.SourceTitle, p.SourceURL = ev.Commit.Hash, ev.Commit.Title, ev.Commit.URL
	}
	for _, t := range g {
		for _, c := range t.item.Changes {
			if !c.Changed && c.Error == "" {
				continue
			}
			ch := report.EventChange{Watcher: c.Source, File: c.File, Field: c.Field, Expr: c.Expr, Old: c.Old, Error: c.Error}
			if len(c.Lines) > 0 {
				ch.Line = c.Lines[0]
			}
			p.Changes = append(p.Changes, ch)
		}
	}
	return p
}

// markError marks the tasks that had something to deliver as not
// delivered: they are not recorded and the next run tries again.
func markError(tasks []*task, msg string) {
	forCommitted(tasks, func(it *Item) {
		it.Status, it.Message = StatusError, msg
	})
}

// forCommitted calls f with the item of each task that made a commit.
func forCommitted(tasks []*task, f func(it *Item)) {
	for _, t := range tasks {
		if t.item.Commit != "" {
			f(t.item)
		}
	}
}

func short(h plumbing.Hash) string { return h.String()[:12] }

// backoff is the wait before attempt+1: 200ms doubling, jittered, at most 5s.
func backoff(attempt int) time.Duration {
	d := min(200*time.Millisecond<<min(attempt-1, 5), 5*time.Second)
	return d/2 + rand.N(d/2+1)
}
