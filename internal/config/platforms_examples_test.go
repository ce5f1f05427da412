package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pipecdExamples is the PipeCD examples corpus shared with the team.
const pipecdExamples = "../../../shared/pipecd-examples"

// checkSpec parses data and runs the semantic checks as the repository
// loader does; it returns the decoded file and every diagnostic.
func checkSpec(t testing.TB, path string, data []byte, repoRoot, fileDir string) (*File, Diagnostics) {
	t.Helper()
	f := ParseFile(path, data)
	ds := append(Diagnostics(nil), f.Diags...)
	if f.Spec != nil {
		c := &Checker{File: path, Kind: f.Kind, Positions: f.Positions, Ctx: CheckContext{RepoRoot: repoRoot, FileDir: fileDir}}
		c.Walk(f.Spec, "spec")
		ds = append(ds, c.Diags...)
	}
	return f, ds
}

func examplesRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(pipecdExamples)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Skipf("PipeCD examples not available: %v", err)
	}
	return root
}

// TestPipeCDPlatformExamples decodes and checks every Terraform, Lambda, ECS
// and Cloud Run example of PipeCD: none may have an error.
func TestPipeCDPlatformExamples(t *testing.T) {
	root := examplesRoot(t)
	var files []string
	for _, platform := range []string{"terraform", "lambda", "ecs", "cloudrun"} {
		err := filepath.WalkDir(filepath.Join(root, "v0", platform), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == "app.pipecd.yaml" {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 25 {
		t.Fatalf("found only %d examples", len(files))
	}
	for _, p := range files {
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f, ds := checkSpec(t, rel, data, root, filepath.Dir(p))
			if !f.Kind.IsApp() || f.Spec == nil {
				t.Fatalf("not decoded as an application: kind %q\n%s", f.Kind, ds.Error())
			}
			errs := ds.Errors()
			if rel == "v0/cloudrun/analysis/app.pipecd.yaml" {
				// Its ANALYSIS stage has `threshold:`, which PipeCD ignores
				// and pipe rejects (owned by the analysis types).
				// Every error must come from that stage's options.
				at20 := false
				for _, e := range errs {
					at20 = at20 || e.Line == 20 && strings.Contains(e.Message, "threshold")
					if !strings.HasPrefix(e.Path, "spec.pipeline.stages[1].with") {
						t.Errorf("unexpected error outside the ANALYSIS options: %s", e)
					}
				}
				if !at20 {
					t.Errorf("want an error at line 20 about threshold, got:\n%s", errs.Error())
				}
				return
			}
			if len(errs) > 0 {
				t.Errorf("errors:\n%s", errs.Error())
			}
			for _, w := range ds.Warnings() {
				t.Log(w.String())
			}
		})
	}
}
