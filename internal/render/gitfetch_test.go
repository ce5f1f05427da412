package render

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// chartsRemote makes a bare repository holding the testdata chart under
// charts/web, with a commit on main (replicaCount 2) tagged v1, a second
// commit (replicaCount 7) on main, and a branch "next" (replicaCount 9).
// It returns the bare repository's path and the first commit.
func chartsRemote(t *testing.T, root string) (string, string) {
	t.Helper()
	bare := gitserver.NewBareRepo(t, root, "charts.git")
	work := filepath.Join(t.TempDir(), "work")
	gitserver.Git(t, root, "clone", "--quiet", bare, work)
	copyDir(t, filepath.Join(testdataRoot(t), "charts", "web"), filepath.Join(work, "charts", "web"))
	gitserver.Git(t, work, "add", "-A")
	gitserver.Git(t, work, "commit", "--quiet", "-m", "web chart")
	first := strings.TrimSpace(gitserver.Git(t, work, "rev-parse", "HEAD"))
	gitserver.Git(t, work, "tag", "v1")
	setReplicas := func(n string) {
		p := filepath.Join(work, "charts", "web", "values.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), "replicaCount: 2", "replicaCount: "+n, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setReplicas("7")
	gitserver.Git(t, work, "commit", "--quiet", "-am", "seven")
	gitserver.Git(t, work, "checkout", "--quiet", "-b", "next", first)
	setReplicas("9")
	gitserver.Git(t, work, "commit", "--quiet", "-am", "nine")
	gitserver.Git(t, work, "push", "--quiet", "origin", "main", "next", "v1")
	return bare, first
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func gitInput(remote, ref string) config.KubernetesDeploymentInput {
	return config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{GitRemote: remote, Ref: ref, Path: "charts/web"}}
}

func unstructuredInt(obj map[string]any, fields ...string) (int64, bool, error) {
	var cur any = obj
	for _, f := range fields {
		cur = cur.(map[string]any)[f]
	}
	n, ok := cur.(int64)
	return n, ok, nil
}

func TestHelmGitChartLocalBareRepository(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	remotes := t.TempDir()
	bare, first := chartsRemote(t, remotes)
	tmp := t.TempDir()
	r := &Renderer{Git: &GoGitFetcher{TempDir: tmp}}
	root := writeFiles(t, t.TempDir(), map[string]string{"app/values.yaml": "service:\n  port: 81\n"})
	for ref, want := range map[string]int64{"main": 7, "v1": 2, "next": 9, first: 2, first[:10]: 2} {
		m := mustRender(t, r, app(root, "app", gitInput("file://"+bare, ref)))
		if got := replicasIn(t, m, "default", "demo-web"); got != want {
			t.Errorf("ref %s: replicas %d, want %d", ref, got, want)
		}
		if s := m.Objects[1].Source; s.Chart != "file://"+bare+"//charts/web?ref="+ref || s.File != "web/templates/service.yaml" {
			t.Errorf("source = %+v", s)
		}
	}
	// Values files are the application's, not the chart repository's.
	in := gitInput("file://"+bare, "main")
	in.HelmOptions = &config.InputHelmOptions{ValueFiles: []string{"values.yaml"}}
	mustRender(t, r, app(root, "app", in))

	for _, c := range []struct {
		in   config.KubernetesDeploymentInput
		want []string
	}{
		{gitInput("file://"+bare, "nope"), []string{`ref "nope"`, "no such branch, tag or commit"}},
		{config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{GitRemote: "file://" + bare, Ref: "main", Path: "charts/none"}}, []string{"charts/none: no such directory at main"}},
		{config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{GitRemote: "file://" + bare, Ref: "main", Path: "../../etc"}}, []string{"helmChart.path", `"../../etc" points outside the repository`}},
		{gitInput("file://"+filepath.Join(remotes, "missing.git"), "main"), []string{"missing.git"}},
	} {
		wantErr(t, renderErr(t, r, app(root, "app", c.in)), c.want...)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary trees left behind: %v", left)
	}
}

func TestHelmGitChartOverGitProtocol(t *testing.T) {
	remotes := t.TempDir()
	_, first := chartsRemote(t, remotes)
	d := gitserver.StartDaemon(t, remotes)
	tmp := t.TempDir()
	f := &GoGitFetcher{TempDir: tmp}
	r := &Renderer{Git: f}
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	for ref, want := range map[string]int64{"main": 7, "v1": 2, "next": 9, first: 2} {
		m := mustRender(t, r, app(root, "app", gitInput(d.RepoURL("charts.git"), ref)))
		if got := replicasIn(t, m, "default", "demo-web"); got != want {
			t.Errorf("ref %s: replicas %d, want %d", ref, got, want)
		}
	}
	dir, cleanup, err := f.Fetch(context.Background(), d.RepoURL("charts.git"), "v1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "charts", "web", "Chart.yaml")); err != nil {
		t.Error(err)
	}
	cleanup()
	err = renderErr(t, r, app(root, "app", gitInput(d.RepoURL("missing.git"), "main")))
	wantErr(t, err, "fetch "+d.RepoURL("missing.git"), "repository not found")
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary trees left behind: %v", left)
	}
}
