package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/schema"
)

// committedSchema returns the committed schema of a kind (schema/<Kind>.json,
// as the binary embeds it; internal/config/schemagen checks it is up to date).
func committedSchema(t *testing.T, k Kind) []byte {
	t.Helper()
	b, ok := schema.JSON(string(k))
	if !ok {
		t.Fatalf("schema/%s.json is missing: run `make schema` and commit the result", k)
	}
	return b
}

// TestSchemaAcceptsValidConfigs checks the generated schemas against real
// configurations: what the decoder accepts, the schema accepts too.
func TestSchemaAcceptsValidConfigs(t *testing.T) {
	docs := map[Kind]string{
		KindKubernetesApp: appYAML("web") + "  timeout: 1h\n  pipeline:\n    stages:\n      - name: WAIT\n        with:\n          duration: 1m\n",
		KindPipe:          "apiVersion: pipecd.dev/v1beta1\nkind: Pipe\nspec: {}\n",
	}
	for k, doc := range docs {
		t.Run(string(k), func(t *testing.T) {
			f := ParseFile("x.yaml", []byte(doc))
			if !f.Valid() {
				t.Fatalf("decoder rejects the document:\n%s", f.Diags.Error())
			}
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
				t.Fatalf("schema does not compile: %v", err)
			}
			var v any
			if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(v)
			inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err := compiled.Validate(inst); err != nil {
				t.Errorf("schema rejects a valid document: %v", err)
			}
		})
	}
}

// TestSchemaTypes checks what the schema generator is told about the types:
// a struct for every kind, every typed entry and every stage with options.
func TestSchemaTypes(t *testing.T) {
	for _, k := range AllKinds() {
		if st := SpecType(k); st == nil || st.Kind() != reflect.Struct {
			t.Errorf("SpecType(%s) = %v, want a struct", k, st)
		}
	}
	if st := SpecType("Nope"); st != nil {
		t.Errorf("SpecType(Nope) = %v, want nil", st)
	}
	for name, entries := range map[string][]TypedConfig{
		"platform providers": PlatformProviderConfigs(), "analysis providers": AnalysisProviderConfigs(), "secret management": SecretManagementConfigs(),
	} {
		if len(entries) == 0 {
			t.Errorf("%s: no types", name)
		}
		for _, e := range entries {
			if e.Type == "" || e.Config == nil || e.Config.Kind() != reflect.Struct {
				t.Errorf("%s: %+v, want a type and a struct", name, e)
			}
		}
	}
	stages := StageSchemas()
	if len(stages) != len(stageSpecs()) {
		t.Fatalf("StageSchemas lists %d stages, want %d", len(stages), len(stageSpecs()))
	}
	for i, st := range stages {
		if i > 0 && stages[i-1].Name >= st.Name {
			t.Errorf("stages not sorted: %s before %s", stages[i-1].Name, st.Name)
		}
		spec := stageSpecs()[st.Name]
		if (spec.options == nil) != (st.Options == nil) || st.RequiresWith != spec.requiresWith {
			t.Errorf("%s: %+v does not match its stage spec", st.Name, st)
		}
		if st.Options != nil && st.Options.Kind() != reflect.Struct {
			t.Errorf("%s: options %v, want a struct", st.Name, st.Options)
		}
	}
}
