package config

import (
	"reflect"
	"sort"
)

// SchemaBaseURL is where the published schemas live; the editor line
// `# yaml-language-server: $schema=<SchemaBaseURL>/<kind>.json` uses it.
const SchemaBaseURL = "https://raw.githubusercontent.com/gitops-pipe/pipe/main/schema"

// The JSON Schemas of the kinds (schema/<Kind>.json) are generated from the
// Go types at build time by internal/config/schemagen (`make schema`); the
// binary embeds the committed files. What follows tells the generator what
// the types alone do not say: which struct a kind's spec is, and which
// struct the `config` of a typed entry or the `with` of a stage is for each
// type or stage name.

// SpecType returns the struct type of a kind's spec, nil for an unknown kind.
func SpecType(k Kind) reflect.Type {
	spec := newSpec(k)
	if spec == nil {
		return nil
	}
	return reflect.TypeOf(spec).Elem()
}

// TypedConfig is one alternative of an entry whose `config` depends on its
// `type` (platform and analysis providers, secret management).
type TypedConfig struct {
	// Type is the value of `type`.
	Type string
	// Config is the struct type of `config` for that type.
	Config reflect.Type
}

// PlatformProviderConfigs lists the platform provider types with the type
// of their `config`, in the order the schema lists them.
func PlatformProviderConfigs() []TypedConfig {
	return typedConfigs(platformProviderTypes(), newPlatformConfig)
}

// AnalysisProviderConfigs lists the analysis provider types with the type
// of their `config`.
func AnalysisProviderConfigs() []TypedConfig {
	return typedConfigs(analysisProviderTypes(), newAnalysisConfig)
}

// SecretManagementConfigs lists the secret management types with the type
// of their `config`.
func SecretManagementConfigs() []TypedConfig {
	return typedConfigs(secretManagementTypes(), newSecretManagementConfig)
}

func typedConfigs(types []string, newConfig func(string) any) []TypedConfig {
	out := make([]TypedConfig, len(types))
	for i, t := range types {
		out[i] = TypedConfig{Type: t, Config: reflect.TypeOf(newConfig(t)).Elem()}
	}
	return out
}

// StageSchema describes a pipeline stage for the schema generator.
type StageSchema struct {
	Name StageName
	// Options is the struct type of the stage's `with`; nil when the stage
	// takes no options.
	Options reflect.Type
	// RequiresWith is true when the stage cannot run without `with`.
	RequiresWith bool
}

// StageSchemas lists every stage of every kind, sorted by name.
func StageSchemas() []StageSchema {
	specs := stageSpecs()
	out := make([]StageSchema, 0, len(specs))
	for name, s := range specs {
		st := StageSchema{Name: name, RequiresWith: s.requiresWith}
		if s.options != nil {
			st.Options = reflect.TypeOf(s.options()).Elem()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
