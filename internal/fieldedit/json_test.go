package fieldedit

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const taskdef = `{
	"family": "web",
	"containerDefinitions": [
		{
			"name": "web",
			"image": "gcr.io/pipecd/web:v0.1.0",
			"cpu": 256,
			"essential": true,
			"portMappings": [{"containerPort": 8080, "hostPort": null}]
		}
	],
	"tags": {"team.name": "a\/b \ud83d\ude00"}
}
`

func TestJSON(t *testing.T) {
	tests := []struct {
		name, in, path, value, want string
		old                         []string
		lines                       []int
	}{
		{"string, tabs kept", taskdef, "$.containerDefinitions[0].image", "gcr.io/pipecd/web:v0.2.0",
			strings.Replace(taskdef, `"gcr.io/pipecd/web:v0.1.0"`, `"gcr.io/pipecd/web:v0.2.0"`, 1), []string{"gcr.io/pipecd/web:v0.1.0"}, []int{6}},
		{"number stays a number", taskdef, "$.containerDefinitions[0].cpu", "512",
			strings.Replace(taskdef, "256", "512", 1), []string{"256"}, []int{7}},
		{"number replaced by a string", taskdef, "$.containerDefinitions[0].cpu", "large",
			strings.Replace(taskdef, "256", `"large"`, 1), []string{"256"}, []int{7}},
		{"bool stays a bool", taskdef, "$..essential", "false",
			strings.Replace(taskdef, "true", "false", 1), []string{"true"}, []int{8}},
		{"null replaced by a string", taskdef, "$..hostPort", "80",
			strings.Replace(taskdef, "null", `"80"`, 1), []string{"null"}, []int{9}},
		{"escapes kept elsewhere, no HTML escaping", taskdef, "$.family", "<web & \"co\">\n",
			strings.Replace(taskdef, `"web",`, `"<web & \"co\">\n",`, 1), []string{"web"}, []int{2}},
		{"key with a dot, surrogate pairs read", taskdef, "$.tags['team.name']", "a/b 😀", taskdef, nil, nil},
		{"compact, CRLF, BOM", "\ufeff{\"a\":[1,\"x\"]}\r\n", "$.a[1]", "y", "\ufeff{\"a\":[1,\"y\"]}\r\n", []string{"x"}, []int{1}},
		{"a scalar document", `"v1"`, "$", "v2", `"v2"`, []string{"v1"}, []int{1}},
		{"duplicate keys: both", `{"a": 1, "a": 2}`, "$.a", "3", `{"a": 3, "a": 3}`, []string{"1", "2"}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := JSON([]byte(tt.in), tt.path, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Out) != tt.want || res.Changed != (tt.in != tt.want) {
				t.Errorf("got %v:\n%s\nwant:\n%s", res.Changed, res.Out, tt.want)
			}
			if !slices.Equal(res.Old, tt.old) || !slices.Equal(res.Lines, tt.lines) {
				t.Errorf("Old, Lines = %q, %v", res.Old, res.Lines)
			}
		})
	}
}

func TestJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, path string
		notFound       bool
		msg            string
	}{
		{"missing key", taskdef, "$.containerDefinitions[0].imag", true,
			`$.containerDefinitions[0].imag: containerDefinitions[0] has no key "imag" (keys: name, image, cpu, essential, portMappings)`},
		{"index out of range", taskdef, "$.containerDefinitions[3].image", true,
			`$.containerDefinitions[3].image: containerDefinitions has 1 item (index 3 out of range)`},
		{"an object", taskdef, "$.tags", false,
			`$.tags: tags is a mapping (keys: ['team.name']), not a scalar; only a scalar value can be replaced: extend the path to one, e.g. $.tags['team.name']`},
		{"invalid JSON", "{\n\"a\": 1,\n}", "$.a", false,
			`$.a: the file is not valid JSON: invalid character '}' looking for beginning of object key string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := JSON([]byte(tt.in), tt.path, "v")
			var fe *Error
			if !errors.As(err, &fe) || errors.Is(err, ErrNotFound) != tt.notFound || err.Error() != tt.msg {
				t.Errorf("got  %v\nwant %s", err, tt.msg)
			}
		})
	}
}

// trickyValues are values that break naive writers.
var trickyValues = []string{"", "v1.2.3", `x"y`, `\`, "</script>&", "\u2028\u0085", "1", "-1.5e3", "true", "null",
	"😀", "a\nb\r\n", "${var.x}", "%{if}", "  spaced  ", "#", "a: b", "\x00\x1b", "'", "[1]"}

func TestJSONEveryLeaf(t *testing.T) {
	for _, in := range []string{taskdef, `[1, "two", {"three": [true, null, 4.5]}]`, "\"root\"\n"} {
		tree, err := parseJSON("$", []byte(in), "the file")
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		var walk func(n *yaml.Node, p string)
		walk = func(n *yaml.Node, p string) {
			switch n.Kind {
			case yaml.ScalarNode:
				paths = append(paths, p)
			case yaml.MappingNode:
				for i := 0; i+1 < len(n.Content); i += 2 {
					walk(n.Content[i+1], p+step{kind: stepKey, key: n.Content[i].Value}.String())
				}
			case yaml.SequenceNode:
				for i, c := range n.Content {
					walk(c, p+step{kind: stepIndex, index: i}.String())
				}
			}
		}
		walk(tree.doc.Content[0], "$")
		for _, p := range paths {
			for _, v := range trickyValues {
				res, err := JSON([]byte(in), p, v)
				if err != nil {
					t.Fatalf("%s = %q: %v", p, v, err)
				}
				if !json.Valid(res.Out) {
					t.Fatalf("%s = %q: invalid JSON %s", p, v, res.Out)
				}
				// The output decodes as the input with the value set.
				var got, want any
				_ = json.Unmarshal(res.Out, &got)
				_ = json.Unmarshal([]byte(in), &want)
				want = setJSON(want, tree.doc.Content[0], p, v)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s = %q: got %s", p, v, res.Out)
				}
			}
		}
	}
}

// setJSON sets the value at path p of a decoded document (whose node tree
// is n) as JSON() would: a literal of the old type or a string.
func setJSON(doc any, n *yaml.Node, p, v string) any {
	pp, _ := parsePath(p, false)
	var set func(cur any, n *yaml.Node, steps []step) any
	set = func(cur any, n *yaml.Node, steps []step) any {
		if len(steps) == 0 {
			if _, tag, _ := jsonValue(n.ShortTag(), v); tag != "!!str" {
				var lit any
				_ = json.Unmarshal([]byte(v), &lit)
				return lit
			}
			return v
		}
		switch c := cur.(type) {
		case map[string]any:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == steps[0].key {
					c[steps[0].key] = set(c[steps[0].key], n.Content[i+1], steps[1:])
				}
			}
		case []any:
			c[steps[0].index] = set(c[steps[0].index], n.Content[steps[0].index], steps[1:])
		}
		return cur
	}
	return set(doc, n, pp.steps)
}
