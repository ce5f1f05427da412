// Package schemagen generates the JSON Schemas (draft 2020-12) of pipe's
// configuration kinds from internal/config's Go types, with
// invopop/jsonschema's reflector.
//
// It runs at build time only: `make schema` (./internal/config/schemagen/cmd)
// writes schema/<Kind>.json, and this package's tests fail when the
// committed files differ from what it generates. The pipe binary embeds the
// committed files (package schema) and links neither this package nor the
// reflector.
package schemagen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Schema returns the JSON Schema of a configuration kind: the whole
// document (apiVersion, kind and spec).
func Schema(k config.Kind) (*jsonschema.Schema, error) {
	specType := config.SpecType(k)
	if specType == nil {
		return nil, fmt.Errorf("unknown kind %q", k)
	}
	g := newGenerator()
	props := jsonschema.NewProperties()
	props.Set("apiVersion", &jsonschema.Schema{Const: config.APIVersion})
	props.Set("kind", &jsonschema.Schema{Const: string(k)})
	props.Set("spec", g.reflect(specType))
	return &jsonschema.Schema{
		Version:              "https://json-schema.org/draft/2020-12/schema",
		ID:                   jsonschema.ID(fmt.Sprintf("%s/%s.json", config.SchemaBaseURL, k)),
		Title:                fmt.Sprintf("pipe %s", k),
		Type:                 "object",
		Properties:           props,
		Required:             []string{"apiVersion", "kind", "spec"},
		AdditionalProperties: jsonschema.FalseSchema,
	}, nil
}

// JSON renders the schema of a kind as the content of schema/<Kind>.json:
// indented JSON, keys sorted, with a final newline.
func JSON(k config.Kind) ([]byte, error) {
	s, err := Schema(k)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s schema: %w", k, err)
	}
	// A round trip through a map sorts the keys, so that the files do not
	// depend on the reflector's field order.
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("encoding the %s schema: %w", k, err)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the %s schema: %w", k, err)
	}
	return append(b, '\n'), nil
}

// Write writes the schema of every kind to dir/<Kind>.json, creating dir,
// and returns the paths written.
func Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the schema directory: %w", err)
	}
	var written []string
	for _, k := range config.AllKinds() {
		b, err := JSON(k)
		if err != nil {
			return written, err
		}
		p := filepath.Join(dir, string(k)+".json")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return written, fmt.Errorf("writing the %s schema: %w", k, err)
		}
		written = append(written, p)
	}
	return written, nil
}

// generator reflects Go types into schemas, with the hooks of hooks.go.
type generator struct {
	r *jsonschema.Reflector
	// extending is the struct an extension is being applied to, reflected
	// plainly first (see mapType).
	extending reflect.Type
}

func newGenerator() *generator {
	g := &generator{}
	g.r = &jsonschema.Reflector{
		DoNotReference:             true,
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
		Mapper:                     g.mapType,
	}
	return g
}

// reflect returns the schema of a struct reflected on its own (a spec, a
// provider's config, a stage's options), without the $schema and $id the
// reflector gives a document: in one document, the same type used twice
// would declare the same $id twice.
func (g *generator) reflect(t reflect.Type) *jsonschema.Schema {
	s := g.r.ReflectFromType(t)
	s.Version, s.ID = "", ""
	return s
}
