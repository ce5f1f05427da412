// Package ci detects the CI system pipe runs in (GitHub Actions, GitLab CI,
// or a generic CI) and exposes what later steps need from it as a typed
// Context: repository, commit, ref, pull/merge request, run URL and the files
// the CI system reads back (job summary, step outputs).
package ci

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Provider names a CI system.
type Provider string

// Known providers.
const (
	None    Provider = ""
	GitHub  Provider = "github-actions"
	GitLab  Provider = "gitlab-ci"
	Generic Provider = "ci"
)

// Context is what pipe knows about the CI run it is part of. Fields the CI
// system does not provide are empty.
type Context struct {
	Provider Provider `json:"provider,omitempty"`
	// Repository is "owner/name" (GitHub) or the project path (GitLab).
	Repository string `json:"repository,omitempty"`
	SHA        string `json:"sha,omitempty"`
	// Ref is the full ref (refs/heads/main, refs/pull/7/merge).
	Ref string `json:"ref,omitempty"`
	// Branch is the branch name; for a pull request, its head branch.
	Branch string `json:"branch,omitempty"`
	// BaseBranch is the target branch of a pull/merge request.
	BaseBranch string `json:"baseBranch,omitempty"`
	// PullRequest is the PR (GitHub) or MR IID (GitLab) number; 0 when none.
	PullRequest int    `json:"pullRequest,omitempty"`
	EventName   string `json:"eventName,omitempty"`
	Actor       string `json:"actor,omitempty"`
	RunURL      string `json:"runURL,omitempty"`
	ServerURL   string `json:"serverURL,omitempty"`
	APIURL      string `json:"apiURL,omitempty"`
	// StepSummaryPath is $GITHUB_STEP_SUMMARY; OutputPath is $GITHUB_OUTPUT.
	StepSummaryPath string `json:"-"`
	OutputPath      string `json:"-"`
}

// IsCI reports whether pipe runs inside any CI system.
func (c Context) IsCI() bool { return c.Provider != None }

// CommitURL is the web page of a commit of the run's repository; "" when
// the CI system does not say where the repository is.
func (c Context) CommitURL(hash string) string {
	if c.ServerURL == "" || c.Repository == "" || hash == "" {
		return ""
	}
	if c.Provider == GitLab {
		return c.ServerURL + "/" + c.Repository + "/-/commit/" + hash
	}
	return c.ServerURL + "/" + c.Repository + "/commit/" + hash
}

// PullRequestURL is the web page of the run's pull/merge request; "" when
// there is none or the CI system does not say where the repository is.
func (c Context) PullRequestURL() string {
	if c.ServerURL == "" || c.Repository == "" || c.PullRequest <= 0 {
		return ""
	}
	if c.Provider == GitLab {
		return fmt.Sprintf("%s/%s/-/merge_requests/%d", c.ServerURL, c.Repository, c.PullRequest)
	}
	return fmt.Sprintf("%s/%s/pull/%d", c.ServerURL, c.Repository, c.PullRequest)
}

// Detect reads the CI context from the environment. readFile reads the
// GitHub event payload (GITHUB_EVENT_PATH) for the pull request number; it
// may be nil. Problems reading the payload are returned as a warning while
// the rest of the context is still filled.
func Detect(getenv func(string) string, readFile func(string) ([]byte, error)) (Context, error) {
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		return detectGitHub(getenv, readFile)
	case getenv("GITLAB_CI") == "true":
		return detectGitLab(getenv), nil
	case isTrue(getenv("CI")):
		return Context{Provider: Generic, SHA: getenv("CI_COMMIT_SHA"), Branch: getenv("CI_BRANCH")}, nil
	}
	return Context{}, nil
}

func isTrue(s string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	return err == nil && b || s == "yes"
}

func detectGitHub(getenv func(string) string, readFile func(string) ([]byte, error)) (Context, error) {
	c := Context{
		Provider:        GitHub,
		Repository:      getenv("GITHUB_REPOSITORY"),
		SHA:             getenv("GITHUB_SHA"),
		Ref:             getenv("GITHUB_REF"),
		EventName:       getenv("GITHUB_EVENT_NAME"),
		Actor:           getenv("GITHUB_ACTOR"),
		ServerURL:       strings.TrimRight(getenv("GITHUB_SERVER_URL"), "/"),
		APIURL:          strings.TrimRight(getenv("GITHUB_API_URL"), "/"),
		StepSummaryPath: getenv("GITHUB_STEP_SUMMARY"),
		OutputPath:      getenv("GITHUB_OUTPUT"),
	}
	if c.ServerURL == "" {
		c.ServerURL = "https://github.com"
	}
	if c.APIURL == "" {
		c.APIURL = "https://api.github.com"
	}
	c.Branch = getenv("GITHUB_HEAD_REF")
	if c.Branch == "" {
		c.Branch = strings.TrimPrefix(getenv("GITHUB_REF_NAME"), "refs/heads/")
	}
	c.BaseBranch = getenv("GITHUB_BASE_REF")
	if id := getenv("GITHUB_RUN_ID"); id != "" && c.Repository != "" {
		c.RunURL = fmt.Sprintf("%s/%s/actions/runs/%s", c.ServerURL, c.Repository, id)
		if a := getenv("GITHUB_RUN_ATTEMPT"); a != "" && a != "1" {
			c.RunURL += "/attempts/" + a
		}
	}
	// refs/pull/<n>/merge on pull_request events.
	if rest, ok := strings.CutPrefix(c.Ref, "refs/pull/"); ok {
		if n, err := strconv.Atoi(strings.SplitN(rest, "/", 2)[0]); err == nil {
			c.PullRequest = n
		}
	}
	var warn error
	if path := getenv("GITHUB_EVENT_PATH"); path != "" && readFile != nil {
		if err := c.readGitHubEvent(path, readFile); err != nil {
			warn = err
		}
	}
	return c, warn
}

// readGitHubEvent fills the pull request number and head SHA from the event
// payload: pull_request events carry them, issue_comment events on a PR
// carry the number (the comment-command trigger).
func (c *Context) readGitHubEvent(path string, readFile func(string) ([]byte, error)) error {
	data, err := readFile(path)
	if err != nil {
		return fmt.Errorf("reading the GitHub event payload %s: %w", path, err)
	}
	var ev struct {
		Number      int `json:"number"`
		PullRequest *struct {
			Number int `json:"number"`
			Head   struct {
				SHA string `json:"sha"`
				Ref string `json:"ref"`
			} `json:"head"`
			Base struct {
				Ref string `json:"ref"`
			} `json:"base"`
		} `json:"pull_request"`
		Issue *struct {
			Number      int             `json:"number"`
			PullRequest json.RawMessage `json:"pull_request"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return fmt.Errorf("parsing the GitHub event payload %s: %w", path, err)
	}
	switch {
	case ev.PullRequest != nil:
		if ev.PullRequest.Number != 0 {
			c.PullRequest = ev.PullRequest.Number
		}
		if ev.PullRequest.Head.SHA != "" {
			// On pull_request events GITHUB_SHA is the test merge commit;
			// the PR's head commit is what a reviewer sees.
			c.SHA = ev.PullRequest.Head.SHA
		}
		if ev.PullRequest.Head.Ref != "" {
			c.Branch = ev.PullRequest.Head.Ref
		}
		if ev.PullRequest.Base.Ref != "" {
			c.BaseBranch = ev.PullRequest.Base.Ref
		}
	case ev.Issue != nil && len(ev.Issue.PullRequest) > 0 && string(ev.Issue.PullRequest) != "null":
		c.PullRequest = ev.Issue.Number
	}
	return nil
}

func detectGitLab(getenv func(string) string) Context {
	c := Context{
		Provider:   GitLab,
		Repository: getenv("CI_PROJECT_PATH"),
		SHA:        getenv("CI_COMMIT_SHA"),
		Branch:     getenv("CI_COMMIT_REF_NAME"),
		EventName:  getenv("CI_PIPELINE_SOURCE"),
		Actor:      getenv("GITLAB_USER_LOGIN"),
		RunURL:     getenv("CI_JOB_URL"),
		ServerURL:  strings.TrimRight(getenv("CI_SERVER_URL"), "/"),
		APIURL:     strings.TrimRight(getenv("CI_API_V4_URL"), "/"),
		BaseBranch: getenv("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
	}
	if c.RunURL == "" {
		c.RunURL = getenv("CI_PIPELINE_URL")
	}
	if b := getenv("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME"); b != "" {
		c.Branch = b
	}
	if n, err := strconv.Atoi(getenv("CI_MERGE_REQUEST_IID")); err == nil {
		c.PullRequest = n
	}
	// A GitHub pull request run by GitLab CI/CD for external repositories.
	if c.BaseBranch == "" {
		c.BaseBranch = getenv("CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME")
	}
	if c.Branch != "" {
		c.Ref = "refs/heads/" + c.Branch
	}
	if t := getenv("CI_COMMIT_TAG"); t != "" {
		c.Ref = "refs/tags/" + t
	}
	return c
}
