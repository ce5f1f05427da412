package release

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The checks of a GitLab CI configuration that GitLab's linter would make,
// or a user would trip on: keywords, stages, images, references between
// jobs, environments, reports and the variables jobs use.

// glJobKeywords are the keywords of a GitLab job.
var glJobKeywords = []string{"after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage",
	"dependencies", "environment", "extends", "hooks", "id_tokens", "identity", "image", "inherit", "interruptible",
	"needs", "pages", "parallel", "release", "resource_group", "retry", "rules", "script", "secrets", "services",
	"stage", "tags", "timeout", "trigger", "variables", "when"}

// glGlobalKeywords are the top-level keywords that are not jobs.
var glGlobalKeywords = []string{"default", "include", "stages", "variables", "workflow", "image", "services",
	"cache", "before_script", "after_script"}

// glTiers are GitLab's deployment tiers.
var glTiers = []string{"production", "staging", "testing", "development", "other"}

// glDefaultStages are the stages of a pipeline that defines none.
var glDefaultStages = []string{".pre", "build", "test", "deploy", ".post"}

// glPipeline is a parsed configuration: its jobs (hidden ones too) and
// what the checks expect of it.
type glPipeline struct {
	where  string
	global map[string]any
	jobs   map[string]map[string]any
	// stages the jobs may use; image the name every job's image has.
	stages []string
	image  string
	// known are the variables a job may use besides its own, GitLab's
	// (CI_*) and the pipeline's global ones.
	known []string
	// component: no global keyword (they would leak into the user's
	// pipeline); every job has rules.
	component bool
}

func newPipeline(where string, cfg map[string]any) *glPipeline {
	p := &glPipeline{where: where, global: map[string]any{}, jobs: map[string]map[string]any{}}
	for k, v := range cfg {
		if slices.Contains(glGlobalKeywords, k) {
			p.global[k] = v
			continue
		}
		job, _ := v.(map[string]any)
		p.jobs[k] = job
	}
	p.stages = glDefaultStages
	if st, ok := cfg["stages"].([]any); ok {
		p.stages = []string{".pre", ".post"}
		for _, s := range st {
			p.stages = append(p.stages, fmt.Sprint(s))
		}
	}
	return p
}

// visible are the jobs that run (not hidden templates), sorted.
func (p *glPipeline) visible() []string {
	var names []string
	for n := range p.jobs {
		if !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// job is a job merged with the hidden jobs it extends, as GitLab merges
// them (deeply for mappings, the job's own value winning).
func (p *glPipeline) job(name string) map[string]any {
	j := p.jobs[name]
	ext, ok := j["extends"]
	if !ok {
		return j
	}
	merged := map[string]any{}
	for _, b := range asStrings(ext) {
		merged = deepMerge(merged, p.job(b))
	}
	return deepMerge(merged, j)
}

func deepMerge(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	for k, v := range b {
		am, aok := out[k].(map[string]any)
		bm, bok := v.(map[string]any)
		if aok && bok {
			out[k] = deepMerge(am, bm)
		} else {
			out[k] = v
		}
	}
	return out
}

var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// check reports what GitLab would refuse, or what would not work.
func (p *glPipeline) check(t *testing.T) {
	t.Helper()
	if p.component && len(p.global) > 0 {
		t.Errorf("%s: global keywords %v leak into the including pipeline; set them per job", p.where, slices.Sorted(maps.Keys(p.global)))
	}
	if len(p.visible()) == 0 {
		t.Errorf("%s: no job (GitLab refuses a pipeline with no job)", p.where)
	}
	for _, name := range p.visible() {
		p.checkJob(t, name)
	}
}

func (p *glPipeline) checkJob(t *testing.T, name string) {
	t.Helper()
	where := p.where + ": job " + name
	own := p.jobs[name]
	for k := range own {
		if !slices.Contains(glJobKeywords, k) {
			t.Errorf("%s: unknown keyword %q", where, k)
		}
	}
	if ext, ok := own["extends"].(string); ok && p.jobs[ext] == nil {
		t.Errorf("%s: extends %s, which is not defined", where, ext)
	}
	j := p.job(name)
	stage := "test"
	if s, ok := j["stage"].(string); ok {
		stage = s
	}
	if !slices.Contains(p.stages, stage) {
		t.Errorf("%s: stage %q is not one of %v", where, stage, p.stages)
	}
	_, script := j["script"]
	_, trigger := j["trigger"]
	if script == trigger {
		t.Errorf("%s: a job has a script or a trigger, not both or neither", where)
	}
	if p.component && j["rules"] == nil {
		t.Errorf("%s: no rules: it would run in every pipeline of the including project", where)
	}
	for _, n := range asStrings(j["needs"]) {
		if p.jobs[n] == nil {
			t.Errorf("%s: needs %s, which is not defined", where, n)
		}
	}
	if tr, ok := j["trigger"].(map[string]any); ok {
		for _, inc := range asMaps(tr["include"]) {
			src, _ := inc["job"].(string)
			art, _ := inc["artifact"].(string)
			paths := asStrings(mapAt(p.jobs[src], "artifacts")["paths"])
			if p.jobs[src] == nil || !slices.Contains(paths, art) {
				t.Errorf("%s: includes the artifact %s of job %s, which does not produce it", where, art, src)
			}
			if !slices.Contains(asStrings(j["needs"]), src) {
				t.Errorf("%s: includes an artifact of %s without needing it", where, src)
			}
		}
	}
	if script {
		img := mapAt(j, "image")
		if img["name"] != p.image || !slices.Equal(asStrings(img["entrypoint"]), []string{""}) {
			t.Errorf("%s: image %v; want name %s and entrypoint [\"\"] (the image's entrypoint is pipe; GitLab runs the script with its shell)", where, j["image"], p.image)
		}
	}
	if env, ok := j["environment"].(map[string]any); ok {
		if n, _ := env["name"].(string); strings.TrimSpace(n) == "" {
			t.Errorf("%s: an environment with no name", where)
		}
		if tier, ok := env["deployment_tier"]; ok && !slices.Contains(glTiers, fmt.Sprint(tier)) {
			t.Errorf("%s: deployment tier %v is not one of %v", where, tier, glTiers)
		}
	}
	// Variables used where GitLab expands them, and in scripts, are set.
	known := append(slices.Clone(p.known), slices.Collect(maps.Keys(mapAt(j, "variables")))...)
	known = append(known, slices.Collect(maps.Keys(mapAt(p.global, "variables")))...)
	var texts []string
	texts = append(texts, fmt.Sprint(mapAt(j, "image")["name"]), fmt.Sprint(j["resource_group"]), fmt.Sprint(mapAt(j, "environment")["name"]))
	for _, sc := range asStrings(j["script"]) {
		texts = append(texts, withoutQuotedHeredocs(sc))
	}
	for _, r := range asMaps(j["rules"]) {
		texts = append(texts, fmt.Sprint(r["if"]))
	}
	for _, s := range texts {
		for _, m := range varRef.FindAllStringSubmatch(s, -1) {
			v := m[1]
			if strings.HasPrefix(v, "CI_") || slices.Contains(known, v) || strings.ToLower(v) == v {
				continue
			}
			t.Errorf("%s: uses $%s, which nothing sets", where, v)
		}
	}
}

var quotedHeredoc = regexp.MustCompile(`<<-?\s*(?:'([A-Za-z_]+)'|"([A-Za-z_]+)"|\\([A-Za-z_]+))`)

// withoutQuotedHeredocs drops the bodies of a script's quoted here-documents
// (<<'EOF'), which the shell does not expand: text written as it is, such
// as a child pipeline's configuration.
func withoutQuotedHeredocs(script string) string {
	var out []string
	end := ""
	for _, line := range strings.Split(script, "\n") {
		if end != "" {
			if strings.TrimLeft(line, "\t") == end {
				end = ""
			}
			continue
		}
		out = append(out, line)
		if m := quotedHeredoc.FindStringSubmatch(line); m != nil {
			end = m[1] + m[2] + m[3]
		}
	}
	return strings.Join(out, "\n")
}

func mapAt(m map[string]any, k string) map[string]any {
	v, _ := m[k].(map[string]any)
	return v
}

func asStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = []string{x}
	case []any:
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
	}
	return out
}

func asMaps(v any) []map[string]any {
	var out []map[string]any
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}
