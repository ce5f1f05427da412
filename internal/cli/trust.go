package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/source"
)

// maxRepoConfig caps the trusted revision's .pipe/config.yaml.
const maxRepoConfig = 4 << 20

// trust is the trust boundary of a plan. A pull/merge request's checkout
// is code nobody has reviewed yet, run with the job's tokens and cluster
// credentials: whatever chooses what runs or where credentials go (the
// platform providers' binaries, kubeconfig paths and master URLs, chart
// repository credentials, analysis and notification endpoints: all of
// .pipe/config.yaml) is read from the trusted revision, the base branch,
// never from the change. The change's applications are planned against it.
type trust struct {
	// Untrusted is set when the working tree is an unreviewed change.
	Untrusted bool
	// From is the trusted revision, as resolved ("origin/main").
	From source.Revision
	// Changed lists the sections of .pipe/config.yaml the change edits,
	// which the plan did not use.
	Changed []string
}

// untrustedEvent reports whether the CI run is for a pull/merge request:
// its checkout is the proposed change.
func untrustedEvent(c ci.Context) bool {
	if c.PullRequest != 0 || c.BaseBranch != "" {
		return true
	}
	switch c.EventName {
	case "pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment",
		"issue_comment", "merge_request_event", "external_pull_request_event":
		return true
	}
	return false
}

// trustedRevision picks the revision whose .pipe/config.yaml a plan
// trusts: --trusted-config-from, else in a pull/merge request its target
// branch (for a GitHub comment command, the default branch the workflow
// runs on). ok is false outside a pull/merge request: the working tree is
// trusted.
func (a *app) trustedRevision(git *source.Repo, flag string) (rev source.Revision, ok bool, err error) {
	if flag != "" {
		rev, err := git.ResolveRevision(flag)
		if err != nil {
			return rev, false, sourceError(err)
		}
		return rev, true, nil
	}
	if !untrustedEvent(a.ci) {
		return rev, false, nil
	}
	// Full ref names only: a short name would also match a tag (a tag
	// "origin/main" wins over the remote branch in Git's rules), and
	// anyone who can push a tag could then choose the "trusted" config.
	branch := func(b string) []string {
		return []string{"refs/remotes/origin/" + b, "refs/heads/" + b}
	}
	var names []string
	if b := a.ci.BaseBranch; b != "" {
		names = branch(b)
	} else if a.ci.Provider == ci.GitHub {
		// issue_comment: GITHUB_REF_NAME and GITHUB_SHA are the default
		// branch's, whatever the job checked out.
		if b := a.ci.Branch; b != "" {
			names = branch(b)
		}
		if a.ci.SHA != "" {
			names = append(names, a.ci.SHA)
		}
	}
	short := func(n string) string {
		return strings.TrimPrefix(strings.TrimPrefix(n, "refs/remotes/"), "refs/heads/")
	}
	for _, n := range names {
		if rev, err := git.ResolveRevision(n); err == nil {
			rev.Name = short(n)
			return rev, true, nil
		}
	}
	what := "the pull request's target branch"
	if len(names) > 0 {
		what = fmt.Sprintf("%s (%s)", what, short(names[0]))
	}
	return rev, false, &Error{Code: ExitUsage,
		Summary: "a plan of a pull request reads .pipe/config.yaml from " + what + ", which is not in this clone",
		Hint:    "fetch it (actions/checkout with fetch-depth: 0, or git fetch origin BRANCH), or name the trusted revision with --trusted-config-from REV"}
}

// applyTrust puts the trusted revision's repository config in place of
// the working tree's when the working tree is an unreviewed change.
func (a *app) applyTrust(git *source.Repo, repo *config.Repo, flag string) (*trust, error) {
	rev, ok, err := a.trustedRevision(git, flag)
	if err != nil || !ok {
		return &trust{}, err
	}
	t := &trust{Untrusted: true, From: rev}
	where := rev.Name + ":" + config.RepoConfigFile
	data, err := git.ReadFileAt(rev, config.RepoConfigFile, maxRepoConfig)
	if err != nil && !errors.Is(err, source.ErrFileNotFound) {
		return nil, &Error{Code: ExitFailed, Summary: "cannot read the trusted repository config " + where, Detail: err.Error()}
	}
	spec, err := repo.RepoConfigAt(data, where)
	if err != nil {
		return nil, &Error{Code: ExitUsage, Summary: "the trusted repository config " + where + " is invalid", Detail: err.Error(),
			Hint: "a plan of a pull request uses the base branch's " + config.RepoConfigFile + "; fix it there first"}
	}
	t.Changed = repo.Config.ChangedSections(spec)
	repo.Config = spec
	return t, nil
}

// notice is what the plan says of the trust boundary; "" when nothing
// the change edits was set aside.
func (t *trust) notice() string {
	if t == nil || len(t.Changed) == 0 {
		return ""
	}
	return fmt.Sprintf("platform settings changed in this pull request (%s of %s): planned with %s's; they apply after merge",
		strings.Join(t.Changed, ", "), config.RepoConfigFile, t.From.Name)
}
