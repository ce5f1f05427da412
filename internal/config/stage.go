package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"

	"gopkg.in/yaml.v3"
)

// StageName is the name of a pipeline stage (e.g. K8S_CANARY_ROLLOUT).
type StageName string

// stageSpec describes one stage: which application kinds may use it and the
// type of its `with` options.
type stageSpec struct {
	// kinds lists the application kinds the stage belongs to; empty means all.
	kinds []Kind
	// options returns a new pointer to the stage's options struct; nil when
	// the stage takes no options.
	options func() any
	// requiresWith is true when the stage cannot run without options.
	requiresWith bool
}

// stageSpecs merges the per-platform stage tables. Each table is a function
// returning a fresh map, so nothing here is mutable package state.
var stageSpecs = sync.OnceValue(func() map[StageName]stageSpec {
	all := map[StageName]stageSpec{}
	for _, table := range []map[StageName]stageSpec{
		genericStages(), kubernetesStages(), terraformStages(),
		lambdaStages(), ecsStages(), cloudRunStages(),
	} {
		for name, s := range table {
			if _, dup := all[name]; dup {
				panic("config: stage registered twice: " + string(name))
			}
			all[name] = s
		}
	}
	return all
})

// StagesForKind lists the stage names valid for an application kind, sorted.
func StagesForKind(k Kind) []StageName {
	var out []StageName
	for name, s := range stageSpecs() {
		if len(s.kinds) == 0 || slices.Contains(s.kinds, k) {
			out = append(out, name)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// PipelineStage is one stage of a pipeline. Its `with` options are decoded
// into the options type of the stage named by `name`, strictly: an unknown
// option is an error (PipeCD silently ignores it).
type PipelineStage struct {
	ID   string    `json:"id,omitempty"`
	Name StageName `json:"name"`
	Desc string    `json:"desc,omitempty"`
	// Timeout bounds the stage; pipe enforces it (PipeCD parses it but ignores it).
	Timeout Duration `json:"timeout,omitempty"`
	// With holds a pointer to the stage's options struct (e.g.
	// *WaitStageOptions); nil for stages without options.
	With any `json:"with,omitempty"`
}

// DecodeNode implements NodeDecoder.
func (s *PipelineStage) DecodeNode(d *Decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "a stage is a mapping with `name` and optional `with`", "expected a stage, got %s", kindName(n))
		return
	}
	var withNode, nameNode *yaml.Node
	fields := []string{"id", "name", "desc", "timeout", "with"}
	seen := map[string]bool{}
	for _, kv := range d.mappingPairs(n, path) {
		k, v := kv[0], kv[1]
		fpath := joinPath(path, k.Value)
		if seen[k.Value] {
			d.Errorf(k, fpath, "", "field `%s` is set twice", k.Value)
			continue
		}
		seen[k.Value] = true
		d.Positions[fpath] = Pos{k.Line, k.Column}
		switch k.Value {
		case "id":
			d.decode(v, reflect.ValueOf(&s.ID).Elem(), fpath)
		case "name":
			nameNode = resolveAlias(v)
			d.decode(v, reflect.ValueOf(&s.Name).Elem(), fpath)
		case "desc":
			d.decode(v, reflect.ValueOf(&s.Desc).Elem(), fpath)
		case "timeout":
			d.decode(v, reflect.ValueOf(&s.Timeout).Elem(), fpath)
		case "with":
			withNode = v
		default:
			hint := unknownHint(k.Value, fields)
			if _, isStageOpt := stageOptionOwner(k.Value); isStageOpt {
				hint = fmt.Sprintf("stage options go under `with:` (write `with: {%s: ...}`)", k.Value)
			}
			d.Errorf(k, fpath, hint, "unknown field `%s`", k.Value)
		}
	}
	if nameNode == nil {
		d.Errorf(n, joinPath(path, "name"), "", "missing required field `name`")
		return
	}
	spec, ok := stageSpecs()[s.Name]
	if !ok {
		d.Errorf(nameNode, joinPath(path, "name"), enumHint(string(s.Name), stageStrings(StagesForKind(d.Kind))), "unknown stage %q", truncate(string(s.Name), 60))
		return
	}
	if len(spec.kinds) > 0 && d.Kind != "" && !slices.Contains(spec.kinds, d.Kind) {
		d.Errorf(nameNode, joinPath(path, "name"), fmt.Sprintf("a %s can use: %s", d.Kind, joinStages(StagesForKind(d.Kind))),
			"stage %s is not available for %s", s.Name, d.Kind)
		return
	}
	wpath := joinPath(path, "with")
	if spec.options == nil {
		if withNode != nil && !isNull(resolveAlias(withNode)) {
			d.Errorf(withNode, wpath, "remove `with:`", "stage %s takes no options", s.Name)
		}
		return
	}
	opts := spec.options()
	if withNode == nil {
		if spec.requiresWith {
			d.Errorf(n, wpath, "", "stage %s needs options under `with:`", s.Name)
		}
		d.applyDefaults(reflect.ValueOf(opts).Elem(), wpath)
	} else {
		d.decode(withNode, reflect.ValueOf(opts).Elem(), wpath)
	}
	s.With = opts
}

// stageOptionOwner reports whether key is an option of some stage, to explain
// options written beside `name` instead of under `with`.
func stageOptionOwner(key string) (StageName, bool) {
	for name, s := range stageSpecs() {
		if s.options == nil {
			continue
		}
		for _, f := range structFields(reflect.TypeOf(s.options()).Elem()) {
			if f.name == key {
				return name, true
			}
		}
	}
	return "", false
}

func stageStrings(names []StageName) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return out
}

func joinStages(names []StageName) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += string(n)
	}
	return s
}

// MarshalJSON renders the stage in its YAML shape.
func (s PipelineStage) MarshalJSON() ([]byte, error) {
	type plain PipelineStage
	return json.Marshal(plain(s))
}
