package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/ci"
)

func driftTestApp(c ci.Context, env map[string]string) *app {
	return &app{
		env: Env{Getenv: func(k string) string { return env[k] }, Now: func() time.Time { return time.Unix(0, 0) }},
		out: &bytes.Buffer{}, err: &bytes.Buffer{}, ci: c,
	}
}

func TestDriftUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		ci   ci.Context
		env  map[string]string
		want string
	}{
		{[]string{"--shard", "3/2"}, ci.Context{}, nil, "invalid shard"},
		{[]string{"--shard", "x"}, ci.Context{}, nil, "invalid shard"},
		{[]string{"-o", "yaml"}, ci.Context{}, nil, "unsupported output format"},
		{[]string{"--parallel", "-1"}, ci.Context{}, nil, "--parallel"},
		{[]string{"--issue"}, ci.Context{}, nil, "--issue needs GITHUB_TOKEN"},
		{[]string{"--issue"}, ci.Context{Provider: ci.GitHub}, map[string]string{"GITHUB_TOKEN": "t"}, "GITHUB_REPOSITORY"},
		{[]string{"--issue"}, ci.Context{Provider: ci.GitLab}, nil, "GitHub issues only"},
		{[]string{"--issue"}, ci.Context{}, map[string]string{"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "nope"}, "not owner/name"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			a := driftTestApp(tc.ci, tc.env)
			cmd := a.driftCommand()
			cmd.SetArgs(tc.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.ExecuteContext(context.Background())
			var e *Error
			if !errors.As(err, &e) || e.Code != ExitUsage || !strings.Contains(e.Summary, tc.want) {
				t.Fatalf("err = %v, want a usage error (exit 2) with %q", err, tc.want)
			}
		})
	}
}

func TestDriftIssuesFromCIContext(t *testing.T) {
	a := driftTestApp(ci.Context{Provider: ci.GitHub, Repository: "acme/deploys", APIURL: "https://ghe.example/api/v3"},
		map[string]string{"GITHUB_TOKEN": "t"})
	if d, err := a.driftIssues(); err != nil || d == nil {
		t.Fatalf("driftIssues: %v", err)
	}
}
