package render

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Every file rendering reads from the repository is a regular file inside
// it, of bounded size: a named pipe must not hang a plan, /dev/zero must
// not exhaust memory, a symlink must not lead out.

// promptly renders and fails the test when rendering does not return in
// time (a read that blocks on a named pipe never would).
func promptly(t *testing.T, r *Renderer, a KubernetesApp) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := r.Kubernetes(t.Context(), a)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("render succeeded, want an error")
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("render blocked")
		return nil
	}
}

func fifo(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mkfifo(p); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Skip(err)
	}
}

// sparse makes a file of size bytes that takes no disk space.
func sparse(t *testing.T, p string, size int64) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

const chartYAML = "apiVersion: v2\nname: c\nversion: 0.1.0\n"

func helmIn(opts *config.InputHelmOptions) config.KubernetesDeploymentInput {
	return config.KubernetesDeploymentInput{HelmChart: &config.InputHelmChart{Path: "../chart"}, HelmOptions: opts}
}

func TestReadsKustomization(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, root string)
		want  []string
	}{
		{"kustomization.yaml a symlink to a named pipe", func(t *testing.T, root string) {
			fifo(t, filepath.Join(root, "pipes", "k"))
			symlink(t, "../pipes/k", filepath.Join(root, "app", "kustomization.yaml"))
		}, []string{"app/kustomization.yaml", "pipes/k is a named pipe, not a regular file", "replace it with a regular file"}},
		{"kustomization.yaml a named pipe", func(t *testing.T, root string) {
			fifo(t, filepath.Join(root, "app", "kustomization.yaml"))
		}, []string{"app/kustomization.yaml is a named pipe, not a regular file"}},
		{"kustomization.yaml a symlink to /dev/zero", func(t *testing.T, root string) {
			symlink(t, "/dev/zero", filepath.Join(root, "app", "kustomization.yaml"))
		}, []string{"app/kustomization.yaml", "outside the repository"}},
		{"kustomization.yaml too large", func(t *testing.T, root string) {
			sparse(t, filepath.Join(root, "app", "kustomization.yaml"), maxFileSize+1)
		}, []string{"app/kustomization.yaml is 16.0 MiB (16777217 bytes), more than the 16 MiB pipe reads from one file", "make it smaller"}},
		{"a base's kustomization a named pipe", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{"app/kustomization.yaml": "resources: [../base]\n"})
			fifo(t, filepath.Join(root, "base", "kustomization.yaml"))
		}, []string{"base/kustomization.yaml is a named pipe"}},
		{"a resource a named pipe", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\n"})
			fifo(t, filepath.Join(root, "app", "cm.yaml"))
		}, []string{"app/kustomization.yaml", "kustomize build", "app/cm.yaml is a named pipe"}},
		{"a resource a symlink to /dev/zero", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{"app/kustomization.yaml": "resources: [cm.yaml]\n"})
			symlink(t, "/dev/zero", filepath.Join(root, "app", "cm.yaml"))
		}, []string{"app/kustomization.yaml", "app/cm.yaml", "outside the repository"}},
		{"a patch too large", func(t *testing.T, root string) {
			writeFiles(t, root, map[string]string{
				"app/kustomization.yaml": "resources: [cm.yaml]\npatches:\n  - path: patch.yaml\n",
				"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
			})
			sparse(t, filepath.Join(root, "app", "patch.yaml"), 1<<30)
		}, []string{"app/patch.yaml is 1024 MiB, more than the 16 MiB"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			c.setup(t, root)
			wantErr(t, promptly(t, &Renderer{}, app(root, "app", config.KubernetesDeploymentInput{})), c.want...)
		})
	}
}

func TestReadsHelm(t *testing.T) {
	outer := t.TempDir()
	writeFiles(t, outer, map[string]string{"values.yaml": "secret: s3cr3t\n"})
	for _, c := range []struct {
		name  string
		in    *config.InputHelmOptions
		setup func(t *testing.T, root string)
		want  []string
	}{
		{".helmignore a symlink to /dev/zero", nil, func(t *testing.T, root string) {
			symlink(t, "/dev/zero", filepath.Join(root, "chart", ".helmignore"))
		}, []string{"chart/.helmignore", "outside the repository"}},
		{".helmignore a named pipe", nil, func(t *testing.T, root string) {
			fifo(t, filepath.Join(root, "chart", ".helmignore"))
		}, []string{"chart/.helmignore is a named pipe, not a regular file"}},
		{".helmignore too large", nil, func(t *testing.T, root string) {
			sparse(t, filepath.Join(root, "chart", ".helmignore"), 1<<30)
		}, []string{"chart/.helmignore is 1024 MiB, more than the 5 MiB pipe reads from one file"}},
		{"a template a named pipe", nil, func(t *testing.T, root string) {
			fifo(t, filepath.Join(root, "chart", "templates", "cm.yaml"))
		}, []string{"chart/templates/cm.yaml"}},
		{"a template too large", nil, func(t *testing.T, root string) {
			sparse(t, filepath.Join(root, "chart", "templates", "cm.yaml"), 6<<20)
		}, []string{"chart/templates/cm.yaml is 6 MiB, more than the 5 MiB"}},
		{"the chart too large", nil, func(t *testing.T, root string) {
			for i := range 21 {
				sparse(t, filepath.Join(root, "chart", "files", fmt.Sprintf("f%02d", i)), 5<<20)
			}
		}, []string{"the chart's files are more than 100 MiB (Helm's limit for a chart, reached at chart/files/f19)"}},
		{"a values file a symlink outside", &config.InputHelmOptions{ValueFiles: []string{"values.yaml"}}, func(t *testing.T, root string) {
			symlink(t, filepath.Join(outer, "values.yaml"), filepath.Join(root, "app", "values.yaml"))
		}, []string{"helmOptions.valueFiles[0]", `"values.yaml" resolves (through a symlink) outside the repository`}},
		{"a values file a named pipe", &config.InputHelmOptions{ValueFiles: []string{"values.yaml"}}, func(t *testing.T, root string) {
			fifo(t, filepath.Join(root, "app", "values.yaml"))
		}, []string{"helmOptions.valueFiles[0]", "app/values.yaml is a named pipe"}},
		{"a values file too large", &config.InputHelmOptions{ValueFiles: []string{"values.yaml"}}, func(t *testing.T, root string) {
			sparse(t, filepath.Join(root, "app", "values.yaml"), 1<<30)
		}, []string{"helmOptions.valueFiles[0]", "app/values.yaml is 1024 MiB, more than the 16 MiB"}},
		{"a setFiles file a symlink to /dev/zero", &config.InputHelmOptions{SetFiles: map[string]string{"k": "z"}}, func(t *testing.T, root string) {
			symlink(t, "/dev/zero", filepath.Join(root, "app", "z"))
		}, []string{"helmOptions.setFiles.k", "outside the repository"}},
		{"a setFiles file a named pipe", &config.InputHelmOptions{SetFiles: map[string]string{"k": "p"}}, func(t *testing.T, root string) {
			fifo(t, filepath.Join(root, "app", "p"))
		}, []string{"helmOptions.setFiles.k", "app/p is a named pipe"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := writeFiles(t, t.TempDir(), map[string]string{"chart/Chart.yaml": chartYAML, "app/.keep": ""})
			c.setup(t, root)
			err := promptly(t, &Renderer{}, app(root, "app", helmIn(c.in)))
			wantErr(t, err, c.want...)
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error holds the file's content")
			}
		})
	}
}

func TestReadsPlain(t *testing.T) {
	for _, c := range []struct {
		name  string
		in    config.KubernetesDeploymentInput
		setup func(t *testing.T, root string)
		want  []string
	}{
		{"a manifest a named pipe", config.KubernetesDeploymentInput{}, func(t *testing.T, root string) {
			fifo(t, filepath.Join(root, "app", "m.yaml"))
		}, []string{"app/m.yaml is a named pipe"}},
		{"a listed manifest a symlink to a named pipe", config.KubernetesDeploymentInput{Manifests: []string{"m.yaml"}}, func(t *testing.T, root string) {
			fifo(t, filepath.Join(root, "p"))
			symlink(t, "../p", filepath.Join(root, "app", "m.yaml"))
		}, []string{"input.manifests[0]", "p is a named pipe"}},
		{"a manifest a symlink to /dev/zero", config.KubernetesDeploymentInput{}, func(t *testing.T, root string) {
			symlink(t, "/dev/zero", filepath.Join(root, "app", "m.yaml"))
		}, []string{"app/m.yaml", "outside the repository"}},
		{"a manifest too large", config.KubernetesDeploymentInput{}, func(t *testing.T, root string) {
			sparse(t, filepath.Join(root, "app", "m.yaml"), 1<<40)
		}, []string{"app/m.yaml is 1048576 MiB, more than the 16 MiB pipe reads from one file", "make it smaller"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			c.setup(t, root)
			wantErr(t, promptly(t, &Renderer{}, app(root, "app", c.in)), c.want...)
		})
	}
}

// The tree's budget bounds what one rendering reads in all.
func TestReadBudget(t *testing.T) {
	root := writeFiles(t, t.TempDir(), map[string]string{"a.yaml": strings.Repeat("a", 600), "b.yaml": strings.Repeat("b", 600)})
	tr, err := newTree(root)
	if err != nil {
		t.Fatal(err)
	}
	tr.budget = 1000
	if _, _, err := tr.readFile(tr.root, "a.yaml"); err != nil {
		t.Fatal(err)
	}
	_, _, err = tr.readFile(tr.root, "b.yaml")
	wantErr(t, err, "b.yaml: rendering has read more than 1000 bytes from the repository for this application")
}
