package config

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// compiledSchema compiles the committed schema of a kind.
func compiledSchema(t *testing.T, k Kind) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(committedSchema(t, k)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("%s schema does not compile: %v", k, err)
	}
	return s
}

func schemaValidate(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(inst)
}

// TestSchemaMatchesDecoderForPipeAndPlatforms checks that the generated
// schemas accept what the decoder and checks accept (the Pipe config, the PipeCD
// examples) and reject some of what it rejects.
func TestSchemaMatchesDecoderForPipeAndPlatforms(t *testing.T) {
	type doc struct {
		name  string
		kind  Kind
		data  []byte
		valid bool
	}
	docs := []doc{
		{"full pipe config", KindPipe, pipeDoc(fullPipeConfig), true},
		{"pipe inline secret", KindPipe, pipeDoc("  notifications:\n    receivers:\n      - name: s\n        slack: {hookURL: https://x}\n"), false},
		{"pipe unknown provider type", KindPipe, pipeDoc("  platformProviders:\n    - {name: x, type: GKE}\n"), false},
		{"pipe provider config of another type", KindPipe, pipeDoc("  platformProviders:\n    - {name: x, type: LAMBDA, config: {project: p}}\n"), false},
		{"ecs routing", KindECSApp, platformDoc(KindECSApp, "  pipeline:\n    stages:\n      - name: ECS_TRAFFIC_ROUTING\n        with: {primary: \"80%\"}\n"), true},
		{"ecs canary without scale", KindECSApp, platformDoc(KindECSApp, "  pipeline:\n    stages:\n      - name: ECS_CANARY_ROLLOUT\n        with: {}\n"), false},
		{"terraform bad field", KindTerraformApp, platformDoc(KindTerraformApp, "  input:\n    workspaces: x\n"), false},
		{"event watcher", KindEventWatcher, []byte("apiVersion: pipecd.dev/v1beta1\nkind: EventWatcher\nspec:\n  events:\n    - name: e\n      replacements:\n        - {file: a.yaml, yamlField: $.a}\n"), true},
	}
	if root, err := filepath.Abs(pipecdExamples); err == nil {
		for _, pattern := range []string{"v0/terraform/*/app.pipecd.yaml", "v0/lambda/*/app.pipecd.yaml", "v0/ecs/*/app.pipecd.yaml", "v0/cloudrun/*/app.pipecd.yaml", ".pipe/event-watcher-*.yaml"} {
			matches, _ := filepath.Glob(filepath.Join(root, pattern))
			for _, p := range matches {
				if filepath.Base(filepath.Dir(p)) == "analysis" && filepath.Base(filepath.Dir(filepath.Dir(p))) == "cloudrun" {
					continue // has a field both reject
				}
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				f := ParseFile(p, data)
				docs = append(docs, doc{p, f.Kind, data, true})
			}
		}
	}
	schemas := map[Kind]*jsonschema.Schema{}
	for _, d := range docs {
		t.Run(d.name, func(t *testing.T) {
			s := schemas[d.kind]
			if s == nil {
				s = compiledSchema(t, d.kind)
				schemas[d.kind] = s
			}
			if _, ds := checkSpec(t, "x.yaml", d.data, "", ""); ds.HasErrors() == d.valid {
				t.Fatalf("decoder and checks valid = %v, want %v:\n%s", !ds.HasErrors(), d.valid, ds.Error())
			}
			err := schemaValidate(t, s, d.data)
			if d.valid && err != nil {
				t.Errorf("schema rejects a valid document: %v", err)
			}
			if !d.valid && err == nil {
				t.Error("schema accepts an invalid document")
			}
		})
	}
}
