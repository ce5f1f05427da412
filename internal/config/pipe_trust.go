package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// RepoConfigAt parses and checks a repository config (.pipe/config.yaml)
// read from elsewhere than the working tree, e.g. from the base branch of a
// pull request: where names it in diagnostics ("origin/main:.pipe/config.yaml").
// Nil data (the file does not exist there) is an empty config.
func (r *Repo) RepoConfigAt(data []byte, where string) (*PipeSpec, error) {
	if data == nil {
		return &PipeSpec{}, nil
	}
	f := ParseFile(where, data)
	if f.Spec != nil && f.Kind != KindPipe {
		return nil, fmt.Errorf("%s must be of kind Pipe, got %s", where, f.Kind)
	}
	if f.Spec != nil {
		c := &Checker{File: where, Kind: f.Kind, Positions: f.Positions, Ctx: CheckContext{RepoRoot: r.Root, FileDir: r.Root}}
		c.Walk(f.Spec, "spec")
		f.Diags = append(f.Diags, c.Diags...)
	}
	if errs := f.Diags.Errors(); len(errs) > 0 {
		lines := make([]string, len(errs))
		for i, d := range errs {
			lines[i] = d.String()
		}
		return nil, errors.New(strings.Join(lines, "\n"))
	}
	spec, ok := f.Spec.(*PipeSpec)
	if !ok {
		return nil, fmt.Errorf("%s holds no repository config", where)
	}
	return spec, nil
}

// ChangedSections names the top-level fields of spec (as the YAML writes
// them: platformProviders, chartRepositories...) whose value differs in
// other; nil specs are empty ones.
func (s *PipeSpec) ChangedSections(other *PipeSpec) []string {
	a, b := s, other
	if a == nil {
		a = &PipeSpec{}
	}
	if b == nil {
		b = &PipeSpec{}
	}
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	var out []string
	for i := 0; i < va.NumField(); i++ {
		ja, errA := json.Marshal(va.Field(i).Interface())
		jb, errB := json.Marshal(vb.Field(i).Interface())
		if errA != nil || errB != nil || !bytes.Equal(ja, jb) {
			name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
	}
	return out
}
