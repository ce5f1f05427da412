package fieldedit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// examplesDir is PipeCD's examples, beside the project (see
// /work/shared/pipecd-examples/ORIGIN.md); tests use it when present.
const examplesDir = "../../../shared/pipecd-examples"

// leaf is a scalar of a document and the path that leads to it.
type leaf struct {
	path string
	node *yaml.Node
}

// leaves lists the scalars of every document of data, with paths that
// name them (aliases and what only a merge key holds are left out), and
// every node; false when data is not YAML.
func leaves(data []byte) ([]leaf, []*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []leaf
	var all []*yaml.Node
	var walk func(n *yaml.Node, p string)
	walk = func(n *yaml.Node, p string) {
		all = append(all, n)
		switch n.Kind {
		case yaml.ScalarNode:
			out = append(out, leaf{p, n})
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				all = append(all, k)
				if k.Kind == yaml.ScalarNode && k.Value != "" && k.ShortTag() != "!!merge" {
					walk(n.Content[i+1], p+step{kind: stepKey, key: k.Value}.String())
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, p+step{kind: stepIndex, index: i}.String())
			}
		}
	}
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return out, all, errors.Is(err, io.EOF)
		}
		if len(doc.Content) == 1 {
			walk(doc.Content[0], "$")
		}
	}
}

// checkYAMLEdit edits the leaf of path in `in` and checks the result: an
// error is fine, a broken or overreaching output is not.
func checkYAMLEdit(t *testing.T, in []byte, path, value string) {
	t.Helper()
	before, nodes, ok := leaves(in)
	if !ok {
		return
	}
	res, err := YAML(in, path, value)
	if err != nil {
		var fe *Error
		if !errors.As(err, &fe) {
			t.Fatalf("%s: an error that is not an *Error: %v", path, err)
		}
		return
	}
	var targets []*yaml.Node
	for _, l := range before {
		if l.path == path {
			targets = append(targets, l.node)
		}
	}
	if len(targets) == 0 {
		t.Fatalf("%s: edited, but it names no scalar", path)
	}
	if !res.Changed {
		if !bytes.Equal(res.Out, in) {
			t.Fatalf("%s: unchanged, but the output differs", path)
		}
		for _, n := range targets {
			if n.Value != value {
				t.Fatalf("%s: unchanged, but line %d holds %q", path, n.Line, n.Value)
			}
		}
		return
	}
	after, _, ok := leaves(res.Out)
	if !ok {
		t.Fatalf("%s = %q: the output is not YAML:\n%s", path, value, res.Out)
	}
	if len(after) != len(before) {
		t.Fatalf("%s = %q: %d scalars became %d:\n%s", path, value, len(before), len(after), res.Out)
	}
	for i, b := range before {
		a := after[i]
		switch {
		case a.path != b.path:
			t.Fatalf("%s = %q: scalar %s became %s:\n%s", path, value, b.path, a.path, res.Out)
		case b.path == path && a.node.Value != value:
			t.Fatalf("%s = %q: reads back as %q:\n%s", path, value, a.node.Value, res.Out)
		case b.path != path && (a.node.Value != b.node.Value || a.node.ShortTag() != b.node.ShortTag()):
			t.Fatalf("%s = %q: %s changed from %q to %q:\n%s", path, value, b.path, b.node.Value, a.node.Value, res.Out)
		}
	}
	// The diff is confined to the targets: from the first one's position
	// to the first node written after the last one.
	src := NewSource(in)
	first, _ := src.Offset(targets[0].Line, targets[0].Column)
	last := targets[len(targets)-1]
	next := len(in)
	var after1 *yaml.Node // the first node written after the last target
	for _, n := range nodes {
		if (n.Line > last.Line || n.Line == last.Line && n.Column > last.Column) &&
			(after1 == nil || n.Line < after1.Line || n.Line == after1.Line && n.Column < after1.Column) {
			after1 = n
		}
	}
	if after1 != nil {
		if o, ok := src.Offset(after1.Line, after1.Column); ok {
			next = o
		}
	}
	prefix := commonPrefix(in, res.Out)
	suffix := commonPrefix(reverse(in[prefix:]), reverse(res.Out[prefix:]))
	if prefix < first || len(in)-suffix > next {
		t.Fatalf("%s = %q: bytes [%d, %d) changed, outside [%d, %d):\n%q\n%q", path, value, prefix, len(in)-suffix, first, next, in, res.Out)
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func reverse(b []byte) []byte {
	r := make([]byte, len(b))
	for i, c := range b {
		r[len(b)-1-i] = c
	}
	return r
}

// fuzzSeeds are realistic files and layouts that trip splicers.
var fuzzSeeds = []string{
	deployment,
	"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n---\n" + deployment,
	"image:\n  repository: gcr.io/pipecd/web\n  tag: \"v0.1.0\"\n  pullPolicy: IfNotPresent\nresources: {}\nnodeSelector: {}\ntolerations: []\n",
	"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n  - name: web\n    newTag: v0.1.0\nresources: [deployment.yaml, service.yaml]\n",
	"spec:\r\n  name: web\r\n  script: |\r\n    echo one\r\n    echo two\r\n  folded: >-\r\n    a\r\n    b\r\n",
	"\ufeffa: 'single ''quoted'''\nb: \"double \\\" \\u00e9\"\nc: !!str 12\nd: &x plain\ne: *x\n",
	"- [a, b, {c: d, e: [1, 2.5, true, null, ~]}]\n- ? complex\n  : value\n- key: >\n    folded\n    text\n\n    para\n",
	"a: b\n  c\n\n  d\n# foot\n...\n--- |\n  root block\n",
	"base: &base\n  timeout: 30s\n  retries: 3\nstage:\n  <<: *base\n  name: canary\n",
	"a:\n- \n-\n- b\nc: {d: , e: }\n? f\ng: !!null\nh: !!str\n",
	"k: [a\n  b, 'c\n\n  d', \"e\\\n f\"]\n",
	"k:\t\tv\t# tab\nl: \tw\n",
	"%YAML 1.1\n---\na: !!binary aGVsbG8=\nb: !custom x\n",
	"? explicit\n: |\n  block under explicit key\nnext: 1\n",
	"- - - deep\n    - x\n  - y\n",
	"a: \"multi\n  line\n\n  quoted\"\nb: 'single\n  multi'\n",
	"a: |2-\n    two extra\n  base\nb: >+\n  keep\n\n\nc: 1\n",
	"a: # c\n  value\nb:\n  # comment\n  c: 1\n",
	"ключ: значение # комментарий\n日本: 語\n\"emoji 🚀\": [✓, ✗]\n",
	"a: x\u0085b: y\n",
	"a: &a {b: &b [1, 2], c: *b}\nd: *a\ne: 3\n",
}

func FuzzYAML(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add([]byte(s), uint(i*7), "v1.2.3")
		f.Add([]byte(s), uint(i), "a: b # c\n- d")
	}
	files, _ := filepath.Glob(filepath.Join(examplesDir, "v0", "kubernetes", "*", "*.yaml"))
	for i, name := range files {
		if data, err := os.ReadFile(name); err == nil && len(data) < 16<<10 {
			f.Add(data, uint(i), "gcr.io/pipecd/helloworld:v0.9.9")
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, pick uint, value string) {
		if len(data) > 64<<10 {
			return
		}
		// The input as a file, and the file it makes yamlGen write.
		for _, doc := range [][]byte{data, genYAML(data)} {
			ls, _, ok := leaves(doc)
			if ok && len(ls) > 0 {
				checkYAMLEdit(t, doc, ls[pick%uint(len(ls))].path, value)
			}
		}
	})
}

// TestYAMLEveryLeafOfTheExamples edits every scalar of PipeCD's example
// files (when they are beside the project) and of the fuzz seeds.
func TestYAMLEveryLeafOfTheExamples(t *testing.T) {
	inputs := map[string][]byte{}
	for i, s := range fuzzSeeds {
		inputs[fmt.Sprintf("seed %d", i)] = []byte(s)
	}
	_ = filepath.WalkDir(examplesDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			if data, err := os.ReadFile(p); err == nil {
				inputs[p] = data
			}
		}
		return nil
	})
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			ls, _, _ := leaves(data)
			for _, l := range ls {
				for _, v := range []string{"v9.9.9-test", "it's: #1\n", "", "42"} {
					checkYAMLEdit(t, data, l.path, v)
				}
			}
		})
	}
}

// TestYAMLGeneratedDocuments runs the fuzz checks over documents yamlGen
// writes from a fixed pseudo-random sequence: every scalar of each, a few
// values each.
func TestYAMLGeneratedDocuments(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	valid := 0
	for range 150 {
		in := make([]byte, 160)
		for i := range in {
			in[i] = byte(r.Uint32())
		}
		doc := genYAML(in)
		ls, _, ok := leaves(doc)
		if !ok {
			continue
		}
		valid++
		for _, l := range ls {
			for _, v := range []string{"v9.9.9", "line one\nline two\n", "", "7", "a: b"} {
				checkYAMLEdit(t, doc, l.path, v)
			}
		}
	}
	if valid < 140 {
		t.Errorf("yamlGen wrote only %d valid documents of 150", valid)
	}
}
