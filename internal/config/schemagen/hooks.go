package schemagen

import (
	"encoding/json"
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/gitops-pipe/pipe/internal/config"
)

// mapType is the reflector's Mapper: the schema of the types whose YAML
// shape is not their Go shape (scalars written as strings; entries whose
// `config` or `with` depends on their `type` or `name`), and the structs
// with an extension. nil lets the reflector reflect the type.
func (g *generator) mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[config.Duration]():
		return durationSchema()
	case reflect.TypeFor[config.Percentage]():
		return &jsonschema.Schema{
			OneOf: []*jsonschema.Schema{
				{Type: "integer", Minimum: json.Number("0"), Maximum: json.Number("100")},
				{Type: "string", Pattern: `^(100|[1-9]?[0-9])%?$`},
			},
			Description: `A percentage from 0 to 100: 10, "10" or "10%".`,
		}
	case reflect.TypeFor[config.Replicas]():
		return &jsonschema.Schema{
			OneOf: []*jsonschema.Schema{
				{Type: "integer", Minimum: json.Number("0")},
				{Type: "string", Pattern: `^([0-9]+|(100|[1-9]?[0-9])%)$`},
			},
			Description: `A replica count (3) or a percentage of the primary's replicas ("20%").`,
		}
	case reflect.TypeFor[config.PipelineStage]():
		return g.stageSchema()
	case reflect.TypeFor[config.PlatformProvider]():
		return g.typedEntrySchema("A platform provider; its `config` depends on its `type`.", namedLabelled, config.PlatformProviderConfigs())
	case reflect.TypeFor[config.AnalysisProvider]():
		return g.typedEntrySchema("An analysis provider; its `config` depends on its `type`.", named, config.AnalysisProviderConfigs())
	case reflect.TypeFor[config.SecretManagement]():
		return g.typedEntrySchema("How secrets are encrypted; `config` depends on `type`.", typeOnly, config.SecretManagementConfigs())
	}
	if extend, ok := extensions[t]; ok && g.extending != t {
		// Reflect the struct as usual (the Mapper returns nil for it while
		// g.extending is t), then extend it.
		outer := g.extending
		g.extending = t
		s := g.reflect(t)
		g.extending = outer
		extend(s)
		return s
	}
	return nil
}

// extensions add to the reflected schema of a struct what its field tags
// cannot say.
var extensions = map[reflect.Type]func(*jsonschema.Schema){
	// scale is required, but a `jsonschema:"required"` tag would make the
	// decoder report it too, a second time and at no line: the options'
	// Validate reports it.
	reflect.TypeFor[config.ECSCanaryRolloutStageOptions](): func(s *jsonschema.Schema) {
		s.Required = append(s.Required, "scale")
	},
}

// durationSchema is the schema of config.Duration.
func durationSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:        "string",
		Pattern:     `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`,
		Description: `A Go duration, e.g. "30s", "5m", "1h30m".`,
	}
}

// stageSchema describes a stage: one alternative per stage name, each with
// the `with` schema of that stage.
func (g *generator) stageSchema() *jsonschema.Schema {
	var alts []*jsonschema.Schema
	for _, st := range config.StageSchemas() {
		props := jsonschema.NewProperties()
		props.Set("id", &jsonschema.Schema{Type: "string", Description: "A unique ID for the stage, to refer to it."})
		props.Set("name", &jsonschema.Schema{Const: string(st.Name)})
		props.Set("desc", &jsonschema.Schema{Type: "string", Description: "A description shown with the stage."})
		props.Set("timeout", durationSchema())
		if st.Options != nil {
			props.Set("with", g.reflect(st.Options))
		}
		alt := &jsonschema.Schema{Type: "object", Properties: props, Required: []string{"name"}, AdditionalProperties: jsonschema.FalseSchema}
		if st.RequiresWith {
			alt.Required = append(alt.Required, "with")
		}
		alts = append(alts, alt)
	}
	return &jsonschema.Schema{OneOf: alts, Description: "A pipeline stage; its `with` options depend on its name."}
}

// entryFields is what a typed entry has besides type and config.
type entryFields int

const (
	typeOnly      entryFields = iota // {type, config}: secretManagement
	named                            // {name, type, config}
	namedLabelled                    // {name, type, labels, config}
)

// typedEntrySchema describes a typed entry ({name, type, config}, see
// entryFields): one alternative per type, each with that type's config
// schema.
func (g *generator) typedEntrySchema(desc string, fields entryFields, types []config.TypedConfig) *jsonschema.Schema {
	var alts []*jsonschema.Schema
	for _, t := range types {
		props := jsonschema.NewProperties()
		required := []string{"type"}
		if fields != typeOnly {
			props.Set("name", &jsonschema.Schema{Type: "string", MinLength: new(uint64(1))})
			required = []string{"name", "type"}
		}
		props.Set("type", &jsonschema.Schema{Const: t.Type})
		if fields == namedLabelled {
			props.Set("labels", &jsonschema.Schema{Type: "object", AdditionalProperties: &jsonschema.Schema{Type: "string"}})
		}
		props.Set("config", g.reflect(t.Config))
		alts = append(alts, &jsonschema.Schema{Type: "object", Properties: props, Required: required, AdditionalProperties: jsonschema.FalseSchema})
	}
	return &jsonschema.Schema{OneOf: alts, Description: desc}
}
