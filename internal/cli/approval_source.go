package cli

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
	"github.com/gitops-pipe/pipe/internal/report"
	"github.com/gitops-pipe/pipe/internal/state"
)

// prApprovalMinInterval is the least time between two reads of the PR
// comments by one job (a job polling with --wait-approval would otherwise
// spend the token's rate limit).
const prApprovalMinInterval = 30 * time.Second

// withApprovals returns ctx carrying the approval source of this run
// (execute.WithApprovalSource): in GitHub Actions with a token, the
// `/pipe approve` comments of the deployed commit's pull request.
func (a *app) withApprovals(ctx context.Context) context.Context {
	if src := a.approvalSource(); src != nil {
		return execute.WithApprovalSource(ctx, src)
	}
	return ctx
}

// approvalSource returns the PR comment approval source, or nil outside
// GitHub or without GITHUB_TOKEN/GH_TOKEN.
func (a *app) approvalSource() execute.ApprovalSource {
	if a.ci.Provider != ci.GitHub || a.ci.Repository == "" {
		return nil
	}
	gh, err := a.githubClient()
	if err != nil {
		a.warn(err)
		return nil
	}
	if gh == nil {
		return nil
	}
	now := a.env.Now
	if now == nil {
		now = time.Now
	}
	return &prApprovals{gh: gh, pr: a.ci.PullRequest, now: now, prOf: map[string]int{}, canWrite: map[string]bool{}}
}

// addPRApprovals records the PR comment approvals of the stage rec waits
// at (for `pipe approve`) and reports whether its approvals now suffice; a
// failure to read them only warns.
func (a *app) addPRApprovals(ctx context.Context, rec *state.Record, stage *state.Stage, o *config.WaitApprovalStageOptions) bool {
	if src := a.approvalSource(); src != nil {
		if _, err := execute.CollectApprovals(ctx, src, rec, stage, o); err != nil {
			a.warn(err)
		}
	}
	need := 1
	if o != nil {
		need = max(o.MinApproverNum, 1)
	}
	return len(execute.Approvals(stage)) >= need
}

// prApprovals reads `/pipe approve` comments of the pull request that
// introduced the deployed commit (else of the run's own pull request).
type prApprovals struct {
	gh  *report.GitHub
	pr  int
	now func() time.Time

	mu       sync.Mutex
	prOf     map[string]int
	canWrite map[string]bool
	last     time.Time
	lastKey  string
	cached   []execute.Approval
}

func (p *prApprovals) Approvals(ctx context.Context, req execute.ApprovalRequest) ([]execute.Approval, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec := req.Record
	key := rec.ID + "/" + req.StageID
	if key == p.lastKey && !p.last.IsZero() && p.now().Sub(p.last) < prApprovalMinInterval {
		return p.cached, nil
	}
	pr, ok := p.prOf[rec.Target.Hash]
	if !ok {
		var err error
		if pr, err = p.gh.PullRequestForCommit(ctx, rec.Target.Hash); err != nil {
			return nil, err
		}
		if pr == 0 {
			pr = p.pr
		}
		p.prOf[rec.Target.Hash] = pr
	}
	if pr == 0 {
		return nil, nil
	}
	comments, err := p.gh.PRComments(ctx, pr)
	if err != nil {
		return nil, err
	}
	found, err := report.PRApprovals(ctx, comments, rec.App, rec.StartedAt, func(ctx context.Context, user string) (bool, error) {
		if len(req.Approvers) > 0 {
			return approverName(req.Approvers, user) != "", nil
		}
		if ok, known := p.canWrite[user]; known {
			return ok, nil
		}
		ok, err := p.gh.CanWrite(ctx, user)
		if err == nil {
			p.canWrite[user] = ok
		}
		return ok, err
	})
	if err != nil {
		return nil, err
	}
	var out []execute.Approval
	for _, f := range found {
		by := f.By
		if n := approverName(req.Approvers, by); n != "" {
			by = n // GitHub logins are case-insensitive: the config's spelling
		}
		out = append(out, execute.Approval{By: by, Time: f.Time, Source: "pr-comment", URL: f.URL})
	}
	p.last, p.lastKey, p.cached = p.now(), key, out
	return out, nil
}

// approverName is the entry of approvers that names GitHub user login.
func approverName(approvers []string, login string) string {
	for _, a := range approvers {
		if strings.EqualFold(strings.TrimPrefix(a, "@"), login) {
			return a
		}
	}
	return ""
}
