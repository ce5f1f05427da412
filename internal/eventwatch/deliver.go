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

// commitToBranch commits the tasks on the branch and pushes them. When the
// branch moved meanwhile, the changes are made again on its new tip (a
// value another job wrote already is no change) and pushed again.
func (d *deliverer) commitToBranch(ctx context.Context, tip state.BranchTip, tasks []*task) error {
	for attempt := 1; ; attempt++ {
		head, err := d.build(tip.Hash, tasks)
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if t.item.Commit != "" {
				t.item.Branch = tip.Name
			}
		}
		if head == tip.Hash || d.o.DryRun {
			return nil
		}
		err = d.o.Store.PushBranch(ctx, tip.Name, tip.Hash, head)
		if err == nil {
			d.res.Head = head.String()
			d.o.Log("pushed %s to %s", short(head), tip.Name)
			return nil
		}
		if !errors.Is(err, state.ErrBranchMoved) || attempt >= d.o.MaxAttempts {
			markError(tasks, fmt.Sprintf("push to %s: %v", tip.Name, err))
			if errors.Is(err, state.ErrBranchMoved) {
				return fmt.Errorf("%s moved under each of %d pushes: %w (run again)", tip.Name, attempt, err)
			}
			return err
		}
		d.o.Log("%s moved while committing (%v); making the changes again on its new tip (attempt %d of %d)", tip.Name, err, attempt+1, d.o.MaxAttempts)
		if err := d.o.Sleep(ctx, backoff(attempt)); err != nil {
			return err
		}
		if tip, err = d.o.Store.FetchBranch(ctx, tip.Name); err != nil {
			return err
		}
		d.res.Base = tip.Hash.String()
	}
}

// propose pushes the changes of each event identity's tasks to that
// identity's branch, made from the branch's head, and opens or updates its
// pull request.
func (d *deliverer) propose(ctx context.Context, tasks []*task) error {
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
	base := plumbing.NewHash(d.res.Head)
	var errs []error
	for _, g := range groups {
		if err := d.proposeGroup(ctx, base, g); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *deliverer) proposeGroup(ctx context.Context, base plumbing.Hash, g []*task) error {
	head, err := d.build(base, g)
	if err != nil {
		return err
	}
	if head == base {
		return nil
	}
	branch := prBranch(g[0].w)
	for _, t := range g {
		if t.item.Commit != "" {
			t.item.Branch = branch
		}
	}
	if d.o.DryRun {
		return nil
	}
	for attempt := 1; ; attempt++ {
		cur, err := d.o.Store.RemoteBranch(ctx, branch)
		if err == nil {
			err = d.o.Store.PushBranch(ctx, branch, cur, head, base)
		}
		if err == nil {
			d.o.Log("pushed %s to %s", short(head), branch)
			break
		}
		if !errors.Is(err, state.ErrBranchMoved) || attempt >= d.o.MaxAttempts {
			markError(g, fmt.Sprintf("push to %s: %v", branch, err))
			return err
		}
	}
	if d.o.PullRequests == nil {
		for _, t := range g {
			if t.item.Commit != "" {
				t.item.Message = strings.TrimPrefix(t.item.Message+"; ", "; ") +
					"branch pushed; no pull request opened (--forge none, or no GitHub or GitLab token): open one from " + branch
			}
		}
		return nil
	}
	pr, err := d.o.PullRequests.EnsurePullRequest(ctx, report.PullRequestSpec{
		Head: branch, Base: d.res.Branch, Title: title(g), Body: report.EventPullRequestBody(proposal(g, d.o.RunURL)), Labels: d.o.Labels,
	})
	if err != nil {
		markError(g, fmt.Sprintf("branch %s pushed, but the pull request: %v", branch, err))
		return err
	}
	verb := "updated"
	if pr.Created {
		verb = "opened"
	}
	d.o.Log("%s pull request %s for %s", verb, pr.URL, branch)
	for _, t := range g {
		if t.item.Commit != "" {
			t.item.PullRequest = pr.URL
		}
	}
	return nil
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
	for _, t := range tasks {
		if t.item.Commit != "" {
			t.item.Status, t.item.Message = StatusError, msg
		}
	}
}

func short(h plumbing.Hash) string { return h.String()[:12] }

// backoff is the wait before attempt+1: 200ms doubling, jittered, at most 5s.
func backoff(attempt int) time.Duration {
	d := min(200*time.Millisecond<<min(attempt-1, 5), 5*time.Second)
	return d/2 + rand.N(d/2+1)
}
