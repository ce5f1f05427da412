package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// pipecdExamplesRoot is PipeCD's examples folder, shared beside the project.
const pipecdExamplesRoot = "../../../shared/pipecd-examples"

// TestPipeCDKubernetesExamples reads every KubernetesApp and deployment
// chain example of PipeCD as the repository loader does: each must be free of
// errors, except two that PipeCD itself gets wrong or that use the pipedv1
// format. The valid ones must also pass the generated JSON schema.
func TestPipeCDKubernetesExamples(t *testing.T) {
	root, err := filepath.Abs(pipecdExamplesRoot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Skipf("PipeCD examples not available: %v", err)
	}
	tmplFile := ReadFile(filepath.Join(root, ".pipe", "analysis-template.yaml"), ".pipe/analysis-template.yaml")
	tmpl, ok := tmplFile.Spec.(*AnalysisTemplateSpec)
	if !ok || !tmplFile.Valid() {
		t.Fatalf("the examples' AnalysisTemplate does not decode:\n%s", tmplFile.Diags.Error())
	}
	templates := tmpl.TemplateNames()

	// The examples that must fail, with the path and message of their one error.
	wantErrors := map[string][2]string{
		"v0/kubernetes/analysis-with-baseline/app.pipecd.yaml": {"spec.pipeline.stages[2].with.threshold", "unknown field `threshold`"},
		"v0/kubernetes_multicluster/canary/app.pipecd.yaml":    {"spec.plugins", "unknown field `plugins`"},
	}
	var files []string
	for _, pattern := range []string{"v0/kubernetes*/*/app.pipecd.yaml", "v0/deployment-chain/*/app.pipecd.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d examples under %s", len(files), root)
	}
	for _, abs := range files {
		rel, _ := filepath.Rel(root, abs)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			f := ReadFile(abs, rel)
			diags := append(Diagnostics{}, f.Diags...)
			if f.Spec != nil {
				c := &Checker{File: f.Path, Kind: f.Kind, Positions: f.Positions,
					Ctx: CheckContext{RepoRoot: root, FileDir: filepath.Dir(abs), AnalysisTemplates: templates}}
				c.Walk(f.Spec, "spec")
				diags = append(diags, c.Diags...)
			}
			for _, w := range diags.Warnings() {
				t.Logf("warning: %s", w)
			}
			errs := diags.Errors()
			want, mustFail := wantErrors[rel]
			if !mustFail {
				if len(errs) > 0 {
					t.Fatalf("errors:\n%s", errs.Error())
				}
				checkAgainstSchema(t, f.Kind, abs)
				return
			}
			if len(errs) != 1 || errs[0].Path != want[0] || !strings.Contains(errs[0].Message, want[1]) {
				t.Fatalf("want exactly one error at %s (%s), got:\n%s", want[0], want[1], errs.Error())
			}
		})
	}
}

// checkAgainstSchema validates a YAML file against the committed schema of its kind.
func checkAgainstSchema(t *testing.T, k Kind, file string) {
	t.Helper()
	sch, err := jsonschema.UnmarshalJSON(bytes.NewReader(committedSchema(t, k)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", sch); err != nil {
		t.Fatal(err)
	}
	compiled, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("schema of %s does not compile: %v", k, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err := compiled.Validate(inst); err != nil {
		t.Errorf("the %s schema rejects a valid document: %v", k, err)
	}
}
