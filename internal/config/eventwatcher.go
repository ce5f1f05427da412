package config

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp/syntax"
	"slices"
	"strings"
)

// EventWatcherSpec is a .pipe/ EventWatcher file: named events (registered
// with `pipe event register`) and the files each one updates.
type EventWatcherSpec struct {
	// The events and what they replace.
	Events []EventWatcherEvent `json:"events,omitempty"`
}

// EventWatcherEvent says which values of which files an event updates.
type EventWatcherEvent struct {
	// The event name.
	Name string `json:"name" jsonschema:"required"`
	// Additional attributes of the event: an event with labels is a different
	// event from one with the same name and other labels.
	Labels map[string]string `json:"labels,omitempty"`
	// The places replaced by the event's value.
	Replacements []EventWatcherReplacement `json:"replacements" jsonschema:"required"`
}

// EventWatcherReplacement is one place an event's value is written to. Exactly
// one of yamlField, jsonField, hclField and regex says where in the file.
type EventWatcherReplacement struct {
	// The file to update, relative to the repository root.
	File string `json:"file" jsonschema:"required"`
	// The YAML path of the field to update, starting with `$` (the document
	// root), e.g. `$.spec.template.spec.containers[0].image`.
	YAMLField string `json:"yamlField,omitempty"`
	// The JSON path of the field to update, starting with `$`.
	JSONField string `json:"jsonField,omitempty"`
	// The HCL path of the field to update.
	HCLField string `json:"hclField,omitempty"`
	// A regular expression (Go syntax) with a capturing group: the text
	// matched by the first group is replaced by the value, e.g.
	// `image: gcr.io/app:(v[0-9.]+)`.
	Regex string `json:"regex,omitempty"`
}

// Validate implements validatable.
func (s *EventWatcherSpec) Validate(c *Checker, path string) {
	if len(s.Events) == 0 {
		c.Warnf(path, "add events, or delete the file", "the EventWatcher has no events")
	}
	seen := map[string]int{}
	for i, e := range s.Events {
		key := e.Name + "\x00" + labelsKey(e.Labels)
		if j, dup := seen[key]; dup {
			c.Warnf(indexPath(path+".events", i)+".name", fmt.Sprintf("merge its replacements into events[%d]", j),
				"event %q with the same labels is defined twice", e.Name)
			continue
		}
		seen[key] = i
	}
}

func labelsKey(l map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l)) {
		fmt.Fprintf(&b, "%s=%s\x00", k, l[k])
	}
	return b.String()
}

// Validate implements validatable.
func (e *EventWatcherEvent) Validate(c *Checker, path string) {
	if c.Has(path+".name") && strings.TrimSpace(e.Name) == "" {
		c.Errorf(path+".name", "", "name must not be empty")
	}
	if c.Has(path+".replacements") && len(e.Replacements) == 0 {
		c.Errorf(path+".replacements", "add at least one {file, yamlField|jsonField|hclField|regex}", "an event needs at least one replacement")
	}
}

// Validate implements validatable.
func (r *EventWatcherReplacement) Validate(c *Checker, path string) {
	if c.Has(path + ".file") {
		r.checkFile(c, path+".file")
	}
	var set []string
	for _, f := range []struct{ name, v string }{{"yamlField", r.YAMLField}, {"jsonField", r.JSONField}, {"hclField", r.HCLField}, {"regex", r.Regex}} {
		if f.v != "" {
			set = append(set, f.name)
		}
	}
	switch len(set) {
	case 0:
		c.Errorf(path, "add one of yamlField, jsonField, hclField or regex", "the replacement does not say what to replace")
		return
	case 1:
	default:
		c.Errorf(path+"."+set[1], "keep only one of them", "the replacement sets both `%s` and `%s`", set[0], set[1])
		return
	}
	for _, f := range []struct{ name, v string }{{"yamlField", r.YAMLField}, {"jsonField", r.JSONField}} {
		if f.v != "" && !strings.HasPrefix(f.v, "$") {
			c.Errorf(path+"."+f.name, "a path starts with `$`, the document root, e.g. `$.spec.replicas`", "%s %q does not start with `$`", f.name, truncate(f.v, 60))
		}
	}
	if r.Regex != "" {
		checkReplacementRegex(c, path+".regex", r.Regex)
	}
}

// checkFile checks the target file: relative to the repository root and
// inside it. A missing file is a warning: the event may target a file that a
// later commit adds, and PipeCD only fails when the event arrives.
func (r *EventWatcherReplacement) checkFile(c *Checker, path string) {
	if filepath.IsAbs(r.File) || strings.HasPrefix(r.File, "/") {
		c.Errorf(path, "write the path relative to the repository root", "absolute path %q is not allowed", r.File)
		return
	}
	if c.Ctx.RepoRoot == "" {
		if r.File == "" {
			c.Errorf(path, "", "file path is empty")
		}
		return
	}
	c.checkOptionalFileRef(path, r.File, c.Ctx.RepoRoot, RefFile,
		"event files are relative to the repository root; the event fails until the file exists")
}

// checkReplacementRegex checks a replacement regex as PipeCD applies it: it
// must compile and have a capturing group; the text of the first group is
// replaced. More groups are allowed, but only the first one is replaced.
func checkReplacementRegex(c *Checker, path, pattern string) {
	re := checkRegexp(c, path, pattern)
	if re == nil {
		return
	}
	switch n := re.NumSubexp(); {
	case n == 0:
		c.Errorf(path, "enclose the part to replace in parentheses, e.g. `image: app:(v[0-9.]+)`", "the regex has no capturing group")
	case n > 1:
		first := firstCapture(pattern)
		c.Warnf(path, "make the other groups non-capturing: (?:...)", "the regex has %d capturing groups; only the first, %s, is replaced", n, first)
	}
}

// firstCapture renders the first capturing group of a valid pattern.
func firstCapture(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	var walk func(*syntax.Regexp) string
	walk = func(r *syntax.Regexp) string {
		if r.Op == syntax.OpCapture {
			return r.String()
		}
		for _, s := range r.Sub {
			if g := walk(s); g != "" {
				return g
			}
		}
		return ""
	}
	return walk(re)
}
