package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func appYAML(name string) string {
	return fmt.Sprintf("apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec:\n  name: %s\n  labels:\n    env: prod\n", name)
}

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a/app.pipecd.yaml":              appYAML("a"),
		"b/.pipe.yaml":                   appYAML("b"),
		"c/web.pipecd.yaml":              appYAML("c"),
		"c/deployment.yaml":              "kind: Deployment\n",
		".pipe/config.yaml":              "apiVersion: pipecd.dev/v1beta1\nkind: Pipe\nspec: {}\n",
		".pipe/nested/ignored.yaml":      "x: 1\n",
		".git/app.pipecd.yaml":           "not me",
		"node_modules/x/app.pipecd.yaml": "not me",
		"d/pipecd.yaml.bak":              "not me",
	})
	got, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".pipe/config.yaml", "a/app.pipecd.yaml", "b/.pipe.yaml", "c/web.pipecd.yaml"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Discover = %v, want %v", got, want)
	}
	got, err = Discover(root, "a")
	if err != nil || len(got) != 1 || got[0] != "a/app.pipecd.yaml" {
		t.Errorf("Discover(a) = %v, %v", got, err)
	}
	if _, err := Discover(root, "missing"); err == nil {
		t.Error("Discover of a missing path should fail")
	}
}

func TestFindRoot(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{".pipe/config.yaml": "", "apps/web/app.pipecd.yaml": ""})
	for _, p := range []string{root, filepath.Join(root, "apps/web"), filepath.Join(root, "apps/web/app.pipecd.yaml")} {
		got, err := FindRoot(p)
		if err != nil || got != root {
			t.Errorf("FindRoot(%s) = %s, %v; want %s", p, got, err, root)
		}
	}
}

func TestLoadRepoDuplicatesAndAmbiguity(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"one/app.pipecd.yaml":   appYAML("web"),
		"two/app.pipecd.yaml":   appYAML("web"),
		"three/app.pipecd.yaml": appYAML("api"),
	})
	repo, err := LoadRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	var warned []string
	for _, d := range repo.Diagnostics() {
		if d.Severity == SeverityWarning && strings.Contains(d.Message, `application name "web" is also used by`) {
			warned = append(warned, d.File)
			if d.Line != 4 || d.Path != "spec.name" {
				t.Errorf("duplicate warning at %s", d)
			}
		}
	}
	if len(warned) != 2 {
		t.Errorf("want a warning on both files, got %v", warned)
	}
	if _, err := repo.App("web"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("App(web) = %v, want ambiguity error", err)
	}
	if a, err := repo.App("api"); err != nil || a.Dir != "three" || a.Kind != KindKubernetesApp {
		t.Errorf("App(api) = %+v, %v", a, err)
	}
	if _, err := repo.App("apj"); err == nil || !strings.Contains(err.Error(), `did you mean "api"`) {
		t.Errorf("App(apj) = %v", err)
	}
}

func TestLoadRepoPlacementRules(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		".pipe/app.yaml":      appYAML("misplaced"),
		".pipe/config.yaml":   "apiVersion: pipecd.dev/v1beta1\nkind: EventWatcher\nspec: {}\n",
		"x/app.pipecd.yaml":   "apiVersion: pipecd.dev/v1beta1\nkind: Pipe\nspec: {}\n",
		"ok/app.pipecd.yaml":  appYAML("ok"),
		"bad/app.pipecd.yaml": "apiVersion: pipecd.dev/v1beta1\nkind: KubernetesApp\nspec: {name: bad, labels: [x]}\n",
	})
	repo, err := LoadRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	wants := map[string]string{
		".pipe/app.yaml":      "cannot live in .pipe/",
		".pipe/config.yaml":   "must be of kind Pipe",
		"x/app.pipecd.yaml":   "belongs in .pipe/",
		"bad/app.pipecd.yaml": "expected a mapping, got a list",
	}
	for _, f := range repo.Files {
		want, ok := wants[f.Path]
		if !ok {
			if !f.Valid() {
				t.Errorf("%s: unexpected errors:\n%s", f.Path, f.Diags.Error())
			}
			continue
		}
		if findDiag(f.Diags, want) == nil {
			t.Errorf("%s: want %q, got:\n%s", f.Path, want, f.Diags.Error())
		}
	}
	// An app whose file has errors is still listed when its name is known.
	if _, err := repo.App("bad"); err != nil {
		t.Errorf("App(bad): %v", err)
	}
}

func TestCheckFileRef(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	writeFiles(t, root, map[string]string{"app/deploy.yaml": "x", "app/dir/x": "", "shared/base.yaml": "x"})
	writeFiles(t, outside, map[string]string{"secret": "s"})
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "app", "link.yaml")); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "app", "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "shared", "base.yaml"), filepath.Join(root, "app", "inside.yaml")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref  string
		kind FileRefKind
		want string // "" = valid
	}{
		{"deploy.yaml", RefFile, ""},
		{"../shared/base.yaml", RefFile, ""},
		{"inside.yaml", RefFile, ""},
		{"dir", RefDir, ""},
		{"dir", RefFile, "is a directory"},
		{"deploy.yaml", RefDir, "is a file"},
		{"missing.yaml", RefFile, "does not exist"},
		{"../../../../etc/passwd", RefFile, "outside the repository"},
		{"/etc/passwd", RefFile, "absolute path"},
		{"link.yaml", RefFile, "outside the repository"},
		{"linkdir/secret", RefFile, "outside the repository"},
		{"", RefFile, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			c := &Checker{File: "app/app.pipecd.yaml", Positions: map[string]Pos{"spec.x": {3, 5}},
				Ctx: CheckContext{RepoRoot: root, FileDir: filepath.Join(root, "app")}}
			got := c.CheckFileRef("spec.x", tt.ref, "", tt.kind)
			if tt.want == "" {
				if len(c.Diags) > 0 || got == "" {
					t.Errorf("want valid, got %q %v", got, c.Diags)
				}
				return
			}
			if d := findDiag(c.Diags, tt.want); d == nil {
				t.Errorf("want %q, got %v", tt.want, c.Diags)
			} else if d.Line != 3 || d.Column != 5 {
				t.Errorf("position %d:%d, want 3:5", d.Line, d.Column)
			}
		})
	}
}

// BenchmarkLoadRepo2000 discovers, parses and validates a monorepo of 2,000
// applications with pipelines, analysis and manifests (the goal:
// well under a second).
func BenchmarkLoadRepo2000(b *testing.B) {
	root := b.TempDir()
	files := map[string]string{
		".pipe/config.yaml": "apiVersion: pipecd.dev/v1beta1\nkind: Pipe\nspec: {}\n",
	}
	for i := range 2000 {
		dir := fmt.Sprintf("teams/t%02d/app-%04d", i%40, i)
		files[dir+"/app.pipecd.yaml"] = fmt.Sprintf(`apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: app-%04d
  labels:
    env: prod
    team: t%02d
  description: |
    Application number %d.
  pipeline:
    stages:
      - name: K8S_CANARY_ROLLOUT
        with:
          replicas: 10%%
      - name: WAIT
        with:
          duration: 5m
      - name: WAIT_APPROVAL
      - name: K8S_PRIMARY_ROLLOUT
      - name: K8S_CANARY_CLEAN
`, i, i%40, i)
		files[dir+"/deployment.yaml"] = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n"
		files[dir+"/service.yaml"] = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"
	}
	writeFiles(b, root, files)
	b.ResetTimer()
	for b.Loop() {
		repo, err := LoadRepo(root)
		if err != nil {
			b.Fatal(err)
		}
		if len(repo.Apps) != 2000 {
			b.Fatalf("found %d apps", len(repo.Apps))
		}
		if ds := repo.Diagnostics().Errors(); len(ds) > 0 {
			b.Fatalf("unexpected errors: %s", ds[0])
		}
	}
}
