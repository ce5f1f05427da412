package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Checker carries what semantic checks need: where each field was written,
// the diagnostics so far, and the context of the file being checked.
type Checker struct {
	File      string
	Kind      Kind
	Positions map[string]Pos
	Diags     Diagnostics
	// Ctx describes the repository around the file (file references,
	// provider and template names).
	Ctx CheckContext
}

// validatable is implemented by configuration types that check themselves.
// path is the field path of the value, for positions and messages.
type validatable interface {
	Validate(c *Checker, path string)
}

// Errorf records an error at the position of path (or of its nearest written parent).
func (c *Checker) Errorf(path, hint, format string, args ...any) {
	c.add(SeverityError, path, hint, fmt.Sprintf(format, args...))
}

// Warnf records a warning at the position of path.
func (c *Checker) Warnf(path, hint, format string, args ...any) {
	c.add(SeverityWarning, path, hint, fmt.Sprintf(format, args...))
}

func (c *Checker) add(sev Severity, path, hint, msg string) {
	p := c.PosOf(path)
	c.Diags = append(c.Diags, Diagnostic{File: c.File, Line: p.Line, Column: p.Column, Path: path, Severity: sev, Message: msg, Hint: hint})
}

// Has reports whether path was written in the file.
func (c *Checker) Has(path string) bool {
	_, ok := c.Positions[path]
	return ok
}

// PosOf returns where path was written, walking up to the nearest parent
// that was written when the field itself is absent (a missing field is
// reported at the mapping that should hold it).
func (c *Checker) PosOf(path string) Pos {
	for p := path; p != ""; p = parentPath(p) {
		if pos, ok := c.Positions[p]; ok {
			return pos
		}
	}
	return Pos{}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

var validatableType = reflect.TypeFor[validatable]()

// Walk calls Validate on every value reachable from v that implements it,
// children first is not guaranteed: parents are visited before children.
func (c *Checker) Walk(v any, path string) {
	c.walk(reflect.ValueOf(v), path)
}

func (c *Checker) walk(v reflect.Value, path string) {
	if !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		c.walk(v.Elem(), path)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(validatableType) {
		v.Addr().Interface().(validatable).Validate(c, path)
	} else if v.Type().Implements(validatableType) {
		v.Interface().(validatable).Validate(c, path)
	}
	switch v.Kind() {
	case reflect.Struct:
		for _, fi := range structFields(v.Type()) {
			c.walk(fieldByIndexRO(v, fi.index), joinPath(path, fi.name))
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			c.walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := fmt.Sprint(iter.Key().Interface())
			// Map values are not addressable; copy to validate pointer receivers.
			cp := reflect.New(iter.Value().Type()).Elem()
			cp.Set(iter.Value())
			c.walk(cp, mapKeyPath(path, k))
		}
	}
}

func fieldByIndexRO(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// CheckContext is what a Checker knows about the repository around the file.
// Every field may be empty when a file is checked on its own.
type CheckContext struct {
	// RepoRoot is the absolute path of the repository root; file references
	// must resolve inside it.
	RepoRoot string
	// FileDir is the absolute directory of the file being checked; relative
	// file references are resolved from it.
	FileDir string
	// AnalysisProviders maps each analysis provider of .pipe/config.yaml to
	// its type (PROMETHEUS, DATADOG, CLOUDWATCH). Nil when the repository has
	// no .pipe/config.yaml: references cannot be checked then.
	AnalysisProviders map[string]string
	// AnalysisTemplates maps a section of the .pipe/ AnalysisTemplate files
	// ("metrics", "logs", "https") to the template names defined in it. Nil
	// when the repository has no AnalysisTemplate.
	AnalysisTemplates map[string]map[string]bool
}
