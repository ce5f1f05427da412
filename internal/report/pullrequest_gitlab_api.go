package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// glError is an answer of GitLab that is not a success.
type glError struct {
	status int
	msg    string
}

// Error reads "GitLab answered 401 Unauthorized" (GitLab's "401
// Unauthorized" message not repeating the status), without a final period
// so that a hint can follow.
func (e *glError) Error() string {
	msg := strings.TrimPrefix(e.msg, strconv.Itoa(e.status)+" ")
	return fmt.Sprintf("GitLab answered %d %s", e.status, strings.TrimSuffix(msg, "."))
}

// do sends a request with the token in its header and decodes the answer
// into out; an answer that is not a success is a *glError.
func (p *GitLabPullRequester) do(ctx context.Context, method, u string, body, out any) (http.Header, error) {
	req, err := gitlabRequest(ctx, method, u, body, p.c.header, p.c.token)
	if err != nil {
		return nil, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("reading GitLab's answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := glMessage(data)
		if len(p.c.token) >= minSecret {
			msg = strings.ReplaceAll(msg, p.c.token, "***")
		}
		return resp.Header, &glError{status: resp.StatusCode, msg: clip(msg, 300)}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.Header, fmt.Errorf("reading GitLab's answer to %s: %w", method, err)
		}
	}
	return resp.Header, nil
}

// glMessage flattens GitLab's error bodies: {"message": "..."},
// {"message": ["...", ...]}, {"message": {"field": ["..."]}} and
// {"error": "...", "error_description": "..."}. Other bodies (an HTML
// page of a proxy) are not repeated.
func glMessage(data []byte) string {
	var e struct {
		Message          json.RawMessage `json:"message"`
		Error            string          `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(data, &e) != nil {
		return "(no message)"
	}
	var parts []string
	var str string
	var list []string
	var fields map[string]json.RawMessage
	switch {
	case json.Unmarshal(e.Message, &str) == nil && str != "":
		parts = append(parts, str)
	case json.Unmarshal(e.Message, &list) == nil:
		parts = append(parts, list...)
	case json.Unmarshal(e.Message, &fields) == nil:
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			var vs []string
			if json.Unmarshal(fields[k], &vs) != nil {
				var v string
				_ = json.Unmarshal(fields[k], &v)
				vs = []string{v}
			}
			parts = append(parts, k+" "+strings.Join(vs, ", "))
		}
	}
	if e.Error != "" {
		parts = append(parts, strings.TrimSpace(e.Error+": "+e.ErrorDescription))
	}
	if len(parts) == 0 {
		return "(no message)"
	}
	return strings.TrimSuffix(strings.Join(parts, "; "), ":")
}

// mrExists reports whether err is GitLab's 409 for a second open merge
// request from the same source branch.
func mrExists(err error) bool {
	var ge *glError
	return errors.As(err, &ge) && ge.status == http.StatusConflict && strings.Contains(strings.ToLower(ge.msg), "already exists")
}

// explain says what GitLab refused about the merge request of s and what
// to do about it.
func (p *GitLabPullRequester) explain(err error, s PullRequestSpec) string {
	var ge *glError
	if !errors.As(err, &ge) {
		return err.Error()
	}
	lower := strings.ToLower(ge.msg)
	switch {
	case p.jobToken && (ge.status == http.StatusUnauthorized || ge.status == http.StatusForbidden):
		return ge.Error() + ": a CI_JOB_TOKEN cannot open or edit merge requests; set GITLAB_TOKEN to a project or personal access token with the api scope (and at least the Developer role)"
	case ge.status == http.StatusUnauthorized:
		return ge.Error() + ": the token is invalid, expired or revoked"
	case ge.status == http.StatusForbidden:
		return ge.Error() + fmt.Sprintf(": the token needs the api scope and at least the Developer role in %s", p.c.project)
	case ge.status == http.StatusNotFound:
		return ge.Error() + fmt.Sprintf(": project %s does not exist, or the token cannot see it (it needs the api scope)", p.c.project)
	case (ge.status == http.StatusBadRequest || ge.status == http.StatusUnprocessableEntity) && strings.Contains(lower, "does not exist"):
		if !strings.Contains(lower, "source") && strings.Contains(lower, "target") {
			return fmt.Sprintf("the target branch %q does not exist in %s: check the branch the merge request should merge into (%s)", s.Base, p.c.project, ge.Error())
		}
		return fmt.Sprintf("branch %q does not exist in %s: push it before opening the merge request (%s)", s.Head, p.c.project, ge.Error())
	}
	return ge.Error()
}
