package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite schema/ and golden files")

// TestSchemasUpToDate fails when schema/ no longer matches the Go types.
// Run `make schema` (or `go test ./internal/config -run Schemas -update`).
func TestSchemasUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..", "schema")
	for _, k := range AllKinds() {
		got, err := SchemaJSON(k)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, string(k)+".json")
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `make schema` and commit the result", p)
		}
	}
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
			schemaJSON, err := SchemaJSON(k)
			if err != nil {
				t.Fatal(err)
			}
			sch, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
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
