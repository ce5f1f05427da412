package release

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// These tests read the GitLab CI/CD components of this repository
// (templates/*.yml) as GitLab does: a header document (spec:inputs), then
// the configuration, with $[[ inputs.x ]] interpolated into its keys and
// values from the inputs given to include:component or their defaults.
// gitlab_component_run_test.go then runs the jobs' scripts.

// glComponent is one component: its header and its configuration.
type glComponent struct {
	name   string // the file's name without .yml: the component's name
	path   string
	text   string // the whole file
	inputs map[string]glInput
	order  []string   // input names, in the file's order
	body   *yaml.Node // the configuration document, not interpolated
}

// glInput is one spec:inputs entry; no default means mandatory.
type glInput struct {
	Default     *string
	Description string
	Options     []string
	Regex       string
}

var (
	interpolation = regexp.MustCompile(`\$\[\[\s*(.*?)\s*\]\]`)
	inputRef      = regexp.MustCompile(`^inputs\.([A-Za-z0-9_-]+)$`)
	inputName     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	releaseTag    = regexp.MustCompile(`^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)
)

// glComponents reads every component of templates/: single files
// (templates/NAME.yml) and directories (templates/NAME/template.yml).
func glComponents(t *testing.T) []*glComponent {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "templates", "*.yml"))
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "templates", "*", "template.yml"))
	files = append(files, dirs...)
	if len(files) == 0 {
		t.Fatal("no component in templates/")
	}
	var out []*glComponent
	for _, f := range files {
		c, err := readComponent(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func readComponent(path string) (*glComponent, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), ".yml")
	if name == "template" {
		name = filepath.Base(filepath.Dir(path))
	}
	c := &glComponent{name: name, path: filepath.ToSlash(path), text: string(data), inputs: map[string]glInput{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		docs = append(docs, &n)
	}
	if len(docs) != 2 {
		return nil, fmt.Errorf("%s: %d YAML documents; a component is a spec header, ---, then its configuration", path, len(docs))
	}
	spec := mapping(docs[0].Content[0])
	if len(spec) != 1 || spec["spec"] == nil {
		return nil, fmt.Errorf("%s: the header holds %v; it must hold spec: only", path, keys(docs[0].Content[0]))
	}
	specKeys := keys(spec["spec"])
	if !slices.Equal(specKeys, []string{"inputs"}) {
		return nil, fmt.Errorf("%s: spec holds %v; spec:inputs only (other keys need a recent GitLab)", path, specKeys)
	}
	in := spec["spec"].Content[1]
	for i := 0; i+1 < len(in.Content); i += 2 {
		name, def := in.Content[i].Value, in.Content[i+1]
		if !inputName.MatchString(name) {
			return nil, fmt.Errorf("%s:%d: input %q: name inputs in snake_case", path, in.Content[i].Line, name)
		}
		var inp glInput
		for k, v := range mapping(def) {
			switch k {
			case "default":
				if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
					return nil, fmt.Errorf("%s:%d: input %s: the default is not a string (%s)", path, v.Line, name, v.Tag)
				}
				s := v.Value
				inp.Default = &s
			case "description":
				inp.Description = v.Value
			case "regex":
				inp.Regex = v.Value
			case "options":
				if err := v.Decode(&inp.Options); err != nil {
					return nil, fmt.Errorf("%s:%d: input %s: options: %v", path, v.Line, name, err)
				}
			default:
				return nil, fmt.Errorf("%s:%d: input %s has %q; GitLab knows default, description, options, regex and type (all inputs here are strings)", path, v.Line, name, k)
			}
		}
		c.inputs[name] = inp
		c.order = append(c.order, name)
	}
	c.body = docs[1]
	return c, nil
}

// mapping returns the entries of a YAML mapping node by key.
func mapping(n *yaml.Node) map[string]*yaml.Node {
	m := map[string]*yaml.Node{}
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = n.Content[i+1]
		}
	}
	return m
}

func keys(n *yaml.Node) []string {
	var ks []string
	for k := range mapping(n) {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// values are the inputs of one include: the given ones, else the defaults.
// A value GitLab would refuse (a mandatory input missing, a value not among
// the options or not matching the regex) is an error, as in GitLab.
func (c *glComponent) values(given map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for k := range given {
		if _, ok := c.inputs[k]; !ok {
			return nil, fmt.Errorf("unknown input %s", k)
		}
	}
	for name, in := range c.inputs {
		v, ok := given[name]
		switch {
		case !ok && in.Default == nil:
			return nil, fmt.Errorf("input %s is mandatory", name)
		case !ok:
			v = *in.Default
		}
		if len(in.Options) > 0 && !slices.Contains(in.Options, v) {
			return nil, fmt.Errorf("input %s: %q is not one of %q", name, v, in.Options)
		}
		if in.Regex != "" {
			re, err := regexp.Compile(in.Regex)
			if err != nil {
				return nil, fmt.Errorf("input %s: regex: %v", name, err)
			}
			if !re.MatchString(v) {
				return nil, fmt.Errorf("input %s: %q does not match %s", name, v, in.Regex)
			}
		}
		out[name] = v
	}
	return out, nil
}

// interpolate returns the configuration with the inputs' values in its
// keys and values, as GitLab interpolates: in the parsed YAML, so that a
// value is never read as YAML. It reports the inputs used.
func (c *glComponent) interpolate(vals map[string]string) (map[string]any, map[string]bool, error) {
	used := map[string]bool{}
	var errs []string
	var walk func(n *yaml.Node) *yaml.Node
	walk = func(n *yaml.Node) *yaml.Node {
		cp := *n
		if n.Kind == yaml.ScalarNode {
			cp.Value = interpolation.ReplaceAllStringFunc(n.Value, func(m string) string {
				ref := interpolation.FindStringSubmatch(m)[1]
				sub := inputRef.FindStringSubmatch(ref)
				if sub == nil {
					errs = append(errs, fmt.Sprintf("line %d: %s is not $[[ inputs.NAME ]]", n.Line, m))
					return m
				}
				v, ok := vals[sub[1]]
				if !ok {
					errs = append(errs, fmt.Sprintf("line %d: %s is not a declared input", n.Line, m))
					return m
				}
				used[sub[1]] = true
				return v
			})
			if cp.Value != n.Value {
				cp.Tag, cp.Style = "!!str", 0
			}
		}
		cp.Content = nil
		for _, ch := range n.Content {
			cp.Content = append(cp.Content, walk(ch))
		}
		return &cp
	}
	doc := walk(c.body)
	if len(errs) > 0 {
		return nil, used, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	var out map[string]any
	if err := doc.Decode(&out); err != nil {
		return nil, used, err
	}
	return out, used, nil
}

func TestGitLabComponentsInputs(t *testing.T) {
	components := glComponents(t)
	var names []string
	for _, c := range components {
		names = append(names, c.name)
		for _, name := range c.order {
			in := c.inputs[name]
			if strings.TrimSpace(in.Description) == "" {
				t.Errorf("%s: input %s has no description (the catalog shows it)", c.path, name)
			}
		}
		for _, want := range []string{"stage", "image", "job_prefix"} {
			if _, ok := c.inputs[want]; !ok {
				t.Errorf("%s: no %s input", c.path, want)
			}
		}
		// The defaults pass the inputs' own checks; every $[[ ]] names a
		// declared input, and every input is used.
		given := componentSamples[c.name]
		vals, err := c.values(given)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		_, used, err := c.interpolate(vals)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
		}
		for _, name := range c.order {
			if !used[name] {
				t.Errorf("%s: input %s is declared but never used", c.path, name)
			}
		}
		// The header text holds no interpolation (GitLab does not
		// interpolate it) and nothing else looks like one in the body.
		header, _, _ := strings.Cut(c.text, "\n---\n")
		if interpolation.MatchString(stripComments(header)) {
			t.Errorf("%s: the header uses $[[ ]]", c.path)
		}
		if strings.Count(c.text, "$[[") != len(interpolation.FindAllString(c.text, -1)) {
			t.Errorf("%s: a $[[ is not closed by ]]", c.path)
		}
	}
	for _, want := range []string{"validate", "plan", "sync", "sync-app", "drift"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s component in templates/ (have %v)", want, names)
		}
	}
	// A catalog project is documented by the README at its root; the
	// components and their inputs by docs/ci.md.
	if _, err := os.Stat(filepath.Join("..", "..", "README.md")); err != nil {
		t.Errorf("the component project needs a README.md: %v", err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, gitlab, _ := strings.Cut(string(doc), "\n## GitLab\n")
	for _, c := range components {
		if !strings.Contains(gitlab, "| `"+c.name+"` |") {
			t.Errorf("docs/ci.md (GitLab) has no row for the component %s", c.name)
		}
		for _, name := range c.order {
			if !strings.Contains(gitlab, "| `"+name+"` |") {
				t.Errorf("docs/ci.md (GitLab) does not document the input %s of %s", name, c.name)
			}
		}
	}
}

// componentSamples are the values of the mandatory inputs in the tests.
var componentSamples = map[string]map[string]string{
	"sync-app": {"app": "web", "environment": "production", "deployment_tier": "production"},
}

func stripComments(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// TestGitLabComponentsPinTheImage: each component runs the release it is
// tagged with by default, the same release in every component and in its
// usage comment; a release build (GITHUB_REF_TYPE=tag, as in the release
// workflow's make test) fails when the files were not bumped to its tag.
func TestGitLabComponentsPinTheImage(t *testing.T) {
	versions := map[string]bool{}
	for _, c := range glComponents(t) {
		def := c.inputs["image"].Default
		if def == nil {
			t.Errorf("%s: the image input has no default", c.path)
			continue
		}
		repo, tag, ok := strings.Cut(*def, ":")
		if !ok || repo != Image || !releaseTag.MatchString(tag) {
			t.Errorf("%s: the default image is %q; want %s:vX.Y.Z, a release tag (never latest)", c.path, *def, Image)
			continue
		}
		versions[tag] = true
		usage := "component: $CI_SERVER_FQDN/gitops-pipe/pipe/" + c.name + "@" + tag
		if !strings.Contains(c.text, usage) {
			t.Errorf("%s: its usage comment does not show %q", c.path, usage)
		}
	}
	if len(versions) != 1 {
		t.Fatalf("the components pin different releases: %v", versions)
	}
	if os.Getenv("GITHUB_REF_TYPE") == "tag" && releaseTag.MatchString(os.Getenv("GITHUB_REF_NAME")) {
		tag := os.Getenv("GITHUB_REF_NAME")
		if !versions[tag] {
			t.Errorf("releasing %s, but templates/*.yml pin %v: set their image default (and usage comments) to %s:%s before tagging", tag, versions, Image, tag)
		}
	}
}
