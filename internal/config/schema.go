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
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	// Sub-schemas reflected on their own (stage options, provider configs)
	// carry their own $id and $schema; in one document they must not, or
	// the same type used twice declares the same $id twice.
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	for k, v := range doc {
		if k != "$id" && k != "$schema" {
			stripIDs(v)
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func stripIDs(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "$id")
		delete(x, "$schema")
		for _, c := range x {
			stripIDs(c)
		}
	case []any:
		for _, c := range x {
			stripIDs(c)
		}
	}
}
