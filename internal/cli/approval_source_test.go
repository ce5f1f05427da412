package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

const approvalAppYAML = `apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: web
  input:
    namespace: default
  pipeline:
    stages:
      - id: approve
        name: WAIT_APPROVAL
        with:
          approvers: [alice, bob]
          minApproverNum: 2
`

const approvalDeployment = `apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {a: b}
`

// A kubeconfig whose server nobody answers: the pipeline has no stage that
// talks to the cluster.
const approvalKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]
current-context: c
`

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestSyncResumeApprovedByPRComments: a deployment paused at WAIT_APPROVAL
// in GitHub Actions continues on `pipe sync --resume` once allowed users
// commented `/pipe approve` on the pull request of the deployed commit,
// without `pipe approve`.
func TestSyncResumeApprovedByPRComments(t *testing.T) {
	fake, token, pipe := approvalSetup(t)
	// A comment from before the deployment does not count.
	fake.SetPermission("alice", "write")
	fake.AddCommentAt(7, "alice", "/pipe approve", time.Now().Add(-time.Hour))
	code, out, errOut := pipe("sync", "web", "--strategy", "pipeline", "--no-push")
	if code != ExitPaused {
		t.Fatalf("sync: exit %d\n%s\n%s", code, out, errOut)
	}
	// Comments while it is paused: bob (an approver), alice for another
	// app and then for this one, mallory (not an approver).
	time.Sleep(1100 * time.Millisecond) // GitHub's times have seconds
	fake.AddComment(7, "bob", "Looks fine.\n/pipe approve")
	fake.AddComment(7, "alice", "/pipe approve api")
	fake.AddComment(7, "mallory", "/pipe approve web")
	code, out, errOut = pipe("sync", "web", "--resume", "--no-push")
	if code != ExitPaused || !strings.Contains(out, "approvals=bob") {
		t.Fatalf("resume with one approval: exit %d\n%s\n%s", code, out, errOut)
	}
	fake.AddComment(7, "alice", "/pipe approve web")
	code, out, errOut = pipe("sync", "web", "--resume", "--no-push")
	if code != 0 || !strings.Contains(out, "SUCCEEDED (PIPELINE)") || !strings.Contains(out, "approvals=bob,alice") {
		t.Fatalf("resume after the comments: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "approved by alice (pr-comment https://github.example/acme/deploys/pull/7#issuecomment-") {
		t.Errorf("events:\n%s", errOut)
	}
	code, out, errOut = pipe("history", "web", "-o", "json")
	if code != 0 || !strings.Contains(out, `"kind": "approval"`) || !strings.Contains(out, "approved by alice (pr-comment): https://github.example/acme/deploys/pull/7#issuecomment-") {
		t.Errorf("history: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, r := range fake.Requests() {
		if strings.Contains(r.Body, token) {
			t.Errorf("the token was sent in a body: %s %s", r.Method, r.Path)
		}
	}
}

// TestApproveCountsPRComments: `pipe approve` counts the PR comment
// approvals with its own.
func TestApproveCountsPRComments(t *testing.T) {
	fake, _, pipe := approvalSetup(t)
	code, out, errOut := pipe("sync", "web", "--strategy", "pipeline", "--no-push")
	if code != ExitPaused {
		t.Fatalf("sync: exit %d\n%s\n%s", code, out, errOut)
	}
	time.Sleep(1100 * time.Millisecond)
	fake.AddComment(7, "bob", "/pipe approve")
	code, out, errOut = pipe("approve", "web", "--by", "alice", "--no-push")
	if code != 0 || !strings.Contains(out, "(alice, bob)") || !strings.Contains(out, "enough approvals") {
		t.Fatalf("approve: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = pipe("sync", "web", "--resume", "--no-push")
	if code != 0 || !strings.Contains(out, "SUCCEEDED (PIPELINE)") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
	}
}

func approvalSetup(t *testing.T) (*fakes.GitHub, string, func(args ...string) (int, string, string)) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	const token = "ghs_prApprovalT0ken_0123456789"
	fake, srv := fakes.NewGitHub(token)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "apps/web"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "apps/web/app.pipecd.yaml"), []byte(approvalAppYAML), 0o644))
	must(os.WriteFile(filepath.Join(dir, "apps/web/cm.yaml"), []byte(approvalDeployment), 0o644))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	must(os.WriteFile(kubeconfig, []byte(approvalKubeconfig), 0o600))
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "add", ".")
	gitIn(t, dir, "commit", "-q", "-m", "web v1")
	sha := gitIn(t, dir, "rev-parse", "HEAD")
	fake.SetPullsOfCommit(sha, 7)

	envs := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/deploys", "GITHUB_SHA": sha, "GITHUB_REF": "refs/heads/main",
		"GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_ACTOR": "ci-bot", "GITHUB_API_URL": srv.URL,
		"GITHUB_SERVER_URL": "https://github.example", "GITHUB_TOKEN": token, "KUBECONFIG": kubeconfig, "NO_COLOR": "1",
		"HOME": t.TempDir(),
	}
	pipe := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), Env{Args: append(args, "-C", dir), Stdout: &stdout, Stderr: &stderr,
			Getenv: func(k string) string { return envs[k] }, Now: time.Now,
			ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist }})
		return code, stdout.String(), stderr.String()
	}
	return fake, token, pipe
}
