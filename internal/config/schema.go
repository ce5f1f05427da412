package config

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/invopop/jsonschema"
)

// SchemaBaseURL is where the published schemas live; the editor line
// `# yaml-language-server: $schema=<SchemaBaseURL>/<kind>.json` uses it.
const SchemaBaseURL = "https://raw.githubusercontent.com/gitops-pipe/pipe/main/schema"

func schemaReflector() *jsonschema.Reflector {
	return &jsonschema.Reflector{
		DoNotReference:             true,
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
	}
}

// Schema returns the JSON Schema of a configuration kind (the whole document:
// apiVersion, kind and spec), generated from the Go types.
func Schema(k Kind) (*jsonschema.Schema, error) {
	spec := newSpec(k)
	if spec == nil {
		return nil, fmt.Errorf("unknown kind %q", k)
	}
	r := schemaReflector()
	specSchema := r.ReflectFromType(reflect.TypeOf(spec).Elem())
	specSchema.Version = ""
	props := jsonschema.NewProperties()
	props.Set("apiVersion", &jsonschema.Schema{Const: APIVersion})
	props.Set("kind", &jsonschema.Schema{Const: string(k)})
	props.Set("spec", specSchema)
	return &jsonschema.Schema{
		Version:              "https://json-schema.org/draft/2020-12/schema",
		ID:                   jsonschema.ID(fmt.Sprintf("%s/%s.json", SchemaBaseURL, k)),
		Title:                fmt.Sprintf("pipe %s", k),
		Type:                 "object",
		Properties:           props,
		Required:             []string{"apiVersion", "kind", "spec"},
		AdditionalProperties: jsonschema.FalseSchema,
	}, nil
}

// SchemaJSON renders the schema of a kind as indented JSON with a final newline.
func SchemaJSON(k Kind) ([]byte, error) {
	s, err := Schema(k)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
