package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/schema"
)

// TestSchemaCommand checks that `pipe schema` prints and writes the
// committed schemas, byte for byte.
func TestSchemaCommand(t *testing.T) {
	code, out, errOut := runPipe(t, nil, "schema")
	var kinds []string
	for _, k := range config.AllKinds() {
		kinds = append(kinds, string(k))
	}
	if code != 0 || out != strings.Join(kinds, "\n")+"\n" {
		t.Fatalf("pipe schema: exit %d, stdout %q, stderr %q; want the kinds", code, out, errOut)
	}

	want, ok := schema.JSON("KubernetesApp")
	if !ok {
		t.Fatal("no committed KubernetesApp schema")
	}
	for _, arg := range []string{"KubernetesApp", "kubernetesapp"} {
		code, out, errOut = runPipe(t, nil, "schema", arg)
		if code != 0 || out != string(want) {
			t.Errorf("pipe schema %s: exit %d, stderr %q; stdout is not schema/KubernetesApp.json", arg, code, errOut)
		}
	}

	dir := filepath.Join(t.TempDir(), "out")
	code, _, errOut = runPipe(t, nil, "schema", "--write", dir)
	if code != 0 {
		t.Fatalf("pipe schema --write: exit %d, stderr %q", code, errOut)
	}
	for _, k := range kinds {
		got, err := os.ReadFile(filepath.Join(dir, k+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := schema.JSON(k); !bytes.Equal(got, want) {
			t.Errorf("--write: %s.json differs from schema/%s.json", k, k)
		}
		if !strings.Contains(errOut, "wrote "+filepath.Join(dir, k+".json")) {
			t.Errorf("--write: stderr %q does not name %s.json", errOut, k)
		}
	}
}

func TestSchemaCommandErrors(t *testing.T) {
	code, _, errOut := runPipe(t, nil, "schema", "Nope")
	if code != ExitUsage || !strings.Contains(errOut, `unknown kind "Nope"; kinds: KubernetesApp,`) {
		t.Errorf("pipe schema Nope: exit %d, stderr %q; want a usage error listing the kinds", code, errOut)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runPipe(t, nil, "schema", "--write", filepath.Join(file, "dir"))
	if code != ExitFailed || !strings.Contains(errOut, "cannot create the schema directory") {
		t.Errorf("pipe schema --write under a file: exit %d, stderr %q", code, errOut)
	}
}
