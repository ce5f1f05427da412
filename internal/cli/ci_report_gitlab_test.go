package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

// The plan note's comment_url in GitLab CI: the API addresses the project
// by CI_PROJECT_ID, but its pages are under CI_PROJECT_URL (else
// CI_SERVER_URL and CI_PROJECT_PATH); never /<numeric id>/-/merge_requests.
func TestReportPlanGitLabCommentURL(t *testing.T) {
	const token = "glpat-commenturl012345"
	for _, tc := range []struct {
		name string
		ctx  ci.Context
		env  map[string]string
		want string
	}{
		{
			name: "CI_PROJECT_URL",
			ctx:  ci.Context{Repository: "acme/deploys", ServerURL: "https://gitlab.example"},
			env:  map[string]string{"CI_PROJECT_ID": "31", "CI_PROJECT_URL": "https://gitlab.example/acme/deploys"},
			want: "https://gitlab.example/acme/deploys/-/merge_requests/4#note_",
		},
		{
			name: "a self-managed instance under a path",
			ctx:  ci.Context{Repository: "acme/deploys", ServerURL: "https://example.com/gitlab"},
			env:  map[string]string{"CI_PROJECT_ID": "31", "CI_PROJECT_URL": "https://example.com/gitlab/acme/deploys"},
			want: "https://example.com/gitlab/acme/deploys/-/merge_requests/4#note_",
		},
		{
			name: "server URL and project path",
			ctx:  ci.Context{Repository: "acme/deploys", ServerURL: "https://gitlab.example/"},
			env:  map[string]string{"CI_PROJECT_ID": "31"},
			want: "https://gitlab.example/acme/deploys/-/merge_requests/4#note_",
		},
		{
			name: "numeric id only: no link",
			env:  map[string]string{"CI_PROJECT_ID": "31"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv := fakes.NewGitLab("acme/deploys", 31, token)
			defer srv.Close()
			c := tc.ctx
			c.Provider, c.PullRequest, c.APIURL = ci.GitLab, 4, srv.URL+"/api/v4"
			c.OutputPath = filepath.Join(t.TempDir(), "outputs")
			env := map[string]string{"GITLAB_TOKEN": token}
			for k, v := range tc.env {
				env[k] = v
			}
			a, stderr := hookApp(t, c, env)
			p := &plan.Plan{SchemaVersion: 1, App: plan.App{Name: "web", Kind: "KubernetesApp"}, Strategy: plan.StrategyQuickSync,
				Reason: "Quick sync", Head: plan.Commit{Hash: "5555555555555555555555555555555555555555"},
				Changes: []plan.Change{{Key: ":ConfigMap:default:web", Action: plan.ActionAdd, Language: "diff", Diff: "+a: b\n"}},
				Summary: plan.Summary{Added: 1}}
			if err := a.reportPlan(context.Background(), ciReportOptions{comment: true}, planFile{SchemaVersion: 1, Plans: []*plan.Plan{p}}); err != nil {
				t.Fatal(err)
			}
			notes := fake.Notes(4)
			if len(notes) != 1 {
				t.Fatalf("notes %+v", notes)
			}
			want := ""
			if tc.want != "" {
				want = tc.want + fmt.Sprint(notes[0].ID)
			}
			outputs, _ := os.ReadFile(c.OutputPath)
			if want != "" && !strings.Contains(string(outputs), "comment_url="+want+"\n") {
				t.Errorf("outputs:\n%s\nwant comment_url=%s", outputs, want)
			}
			if want == "" && strings.Contains(string(outputs), "comment_url=") {
				t.Errorf("a link with no known page:\n%s", outputs)
			}
			if strings.Contains(string(outputs)+stderr.String(), "/31/-/merge_requests") {
				t.Errorf("a link by the numeric id:\n%s\n%s", outputs, stderr)
			}
		})
	}
}
