package ci

import (
	"errors"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDetect(t *testing.T) {
	payload := []byte(`{"number":42,"pull_request":{"number":42,"head":{"sha":"abc123","ref":"feature"},"base":{"ref":"main"}}}`)
	files := func(p string) ([]byte, error) {
		if p == "/event.json" {
			return payload, nil
		}
		if p == "/comment.json" {
			return []byte(`{"issue":{"number":7,"pull_request":{"url":"x"}}}`), nil
		}
		return nil, errors.New("no such file")
	}
	tests := []struct {
		name string
		env  map[string]string
		want Context
		warn bool
	}{
		{"none", map[string]string{}, Context{}, false},
		{"generic", map[string]string{"CI": "true"}, Context{Provider: Generic}, false},
		{"github push", map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "deadbeef", "GITHUB_REF": "refs/heads/main",
			"GITHUB_REF_NAME": "main", "GITHUB_RUN_ID": "99", "GITHUB_EVENT_NAME": "push", "GITHUB_ACTOR": "me",
		}, Context{Provider: GitHub, Repository: "o/r", SHA: "deadbeef", Ref: "refs/heads/main", Branch: "main", EventName: "push", Actor: "me",
			RunURL: "https://github.com/o/r/actions/runs/99", ServerURL: "https://github.com", APIURL: "https://api.github.com"}, false},
		{"github pr from payload", map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": "merge", "GITHUB_REF": "refs/pull/42/merge",
			"GITHUB_EVENT_PATH": "/event.json", "GITHUB_SERVER_URL": "https://ghe.example.com/", "GITHUB_API_URL": "https://ghe.example.com/api/v3",
			"GITHUB_RUN_ID": "5", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_HEAD_REF": "feature", "GITHUB_BASE_REF": "main",
		}, Context{Provider: GitHub, Repository: "o/r", SHA: "abc123", Ref: "refs/pull/42/merge", Branch: "feature", BaseBranch: "main", PullRequest: 42,
			RunURL: "https://ghe.example.com/o/r/actions/runs/5/attempts/2", ServerURL: "https://ghe.example.com", APIURL: "https://ghe.example.com/api/v3"}, false},
		{"github issue comment on PR", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": "/comment.json"},
			Context{Provider: GitHub, PullRequest: 7, ServerURL: "https://github.com", APIURL: "https://api.github.com"}, false},
		{"github unreadable payload", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/pull/3/merge", "GITHUB_EVENT_PATH": "/missing"},
			Context{Provider: GitHub, Ref: "refs/pull/3/merge", PullRequest: 3, ServerURL: "https://github.com", APIURL: "https://api.github.com"}, true},
		{"gitlab mr", map[string]string{
			"GITLAB_CI": "true", "CI": "true", "CI_PROJECT_PATH": "g/p", "CI_COMMIT_SHA": "cafe", "CI_COMMIT_REF_NAME": "feature",
			"CI_MERGE_REQUEST_IID": "12", "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
			"CI_JOB_URL": "https://gitlab.example.com/g/p/-/jobs/1", "CI_SERVER_URL": "https://gitlab.example.com", "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
			"CI_PIPELINE_SOURCE": "merge_request_event",
		}, Context{Provider: GitLab, Repository: "g/p", SHA: "cafe", Ref: "refs/heads/feature", Branch: "feature", BaseBranch: "main", PullRequest: 12,
			EventName: "merge_request_event", RunURL: "https://gitlab.example.com/g/p/-/jobs/1", ServerURL: "https://gitlab.example.com", APIURL: "https://gitlab.example.com/api/v4"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(env(tt.env), files)
			if (err != nil) != tt.warn {
				t.Fatalf("warning = %v, want warning %v", err, tt.warn)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
