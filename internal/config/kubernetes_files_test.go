package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKubernetesFileRefs(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	app := filepath.Join(repo, "apps", "web")
	for _, d := range []string{app, filepath.Join(repo, "charts", "web"), filepath.Join(root, "outside")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(app, "deployment.yaml"), filepath.Join(app, "values.yaml"), filepath.Join(root, "outside", "secret.yaml")} {
		if err := os.WriteFile(f, []byte("a: b\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "outside", "secret.yaml"), filepath.Join(app, "link.yaml")); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	ctx := CheckContext{RepoRoot: repo, FileDir: app}

	okDoc := k8sAppDoc("  input:\n    manifests: [deployment.yaml]\n    helmChart:\n      path: ../../charts/web\n    helmOptions:\n      valueFiles: [values.yaml, \"https://example.com/values.yaml\"]\n  encryption:\n    encryptedSecrets: {a: AQC}\n    decryptionTargets: [deployment.yaml]\n")
	_, ds := checkAppDoc(t, okDoc, ctx)
	if ds.HasErrors() {
		t.Fatalf("valid references rejected:\n%s", ds.Error())
	}

	manifest := func(ref string) string { return k8sAppDoc("  input:\n    manifests:\n      - " + ref + "\n") }
	cases := []diagCase{
		{
			name: "escaping with ..",
			doc:  manifest("../../../etc/passwd"), ctx: ctx,
			path: "spec.input.manifests[0]", marker: "etc/passwd",
			msg: "points outside the repository",
		},
		{
			name: "absolute path",
			doc:  manifest("/etc/passwd"), ctx: ctx,
			path: "spec.input.manifests[0]", marker: "etc/passwd",
			msg: "absolute path", hint: "relative to the application directory",
		},
		{
			name: "symlink out of the repository",
			doc:  manifest("link.yaml"), ctx: ctx,
			path: "spec.input.manifests[0]", marker: "link.yaml",
			msg: "outside the repository",
		},
		{
			name: "missing manifest",
			doc:  manifest("service.yaml"), ctx: ctx,
			path: "spec.input.manifests[0]", marker: "service.yaml",
			msg: `"service.yaml" does not exist`, hint: "apps/web/",
		},
		{
			name: "local chart is a directory",
			doc:  k8sAppDoc("  input:\n    helmChart:\n      path: values.yaml\n"), ctx: ctx,
			path: "spec.input.helmChart.path", marker: "path: values.yaml",
			msg: "is a file, expected a directory",
		},
		{
			name: "decryption target escaping",
			doc:  k8sAppDoc("  encryption:\n    encryptedSecrets: {a: AQC}\n    decryptionTargets: [../../../outside/secret.yaml]\n"), ctx: ctx,
			path: "spec.encryption.decryptionTargets[0]", marker: "decryptionTargets",
			msg: "points outside the repository",
		},
		{
			name: "attachment source missing",
			doc:  k8sAppDoc("  attachment:\n    sources: {config: config.yaml}\n    targets: [deployment.yaml]\n"), ctx: ctx,
			path: "spec.attachment.sources.config", marker: "sources",
			msg: "does not exist",
		},
		{
			name: "values file through a symlink",
			doc:  k8sAppDoc("  input:\n    helmChart: {path: ../../charts/web}\n    helmOptions:\n      valueFiles: [link.yaml]\n"), ctx: ctx,
			path: "spec.input.helmOptions.valueFiles[0]", marker: "valueFiles",
			msg: "outside the repository",
		},
	}
	runDiagCases(t, cases)
}
