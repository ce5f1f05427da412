package fieldedit

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestYAMLErrors(t *testing.T) {
	tests := []struct {
		name, in, path string
		notFound       bool
		line           int
		msg            string // Error() exactly
	}{
		{"missing key", deployment, "$.spec.template.spec.containers[0].imagee", true, 14,
			`$.spec.template.spec.containers[0].imagee: containers[0] has no key "imagee" (keys: name, image, ports)`},
		{"index out of range", "spec:\n  template:\n    spec:\n      containers:\n        - image: a\n", "$.spec.template.spec.containers[1].image", true, 5,
			`$.spec.template.spec.containers[1].image: containers has 1 item (index 1 out of range)`},
		{"key of a sequence", deployment, "$.spec.template.spec.containers.image", true, 14,
			`$.spec.template.spec.containers.image: containers is a sequence of 2 items, not a mapping: .image needs one`},
		{"index of a mapping", deployment, "$.spec[0]", true, 9,
			`$.spec[0]: spec is a mapping (keys: replicas, template), not a sequence: [0] needs one`},
		{"key of a scalar", deployment, "$.kind.name", true, 3,
			`$.kind.name: kind is a string, not a mapping: .name needs one`},
		{"a mapping where a scalar is expected", deployment, "$.spec.template.spec.containers[0]", false, 14,
			`$.spec.template.spec.containers[0]: containers[0] is a mapping (keys: name, image, ports), not a scalar; only a scalar value can be replaced: extend the path to one, e.g. $.spec.template.spec.containers[0].name`},
		{"a sequence where a scalar is expected", deployment, "$.spec.template.spec.containers", false, 14,
			`$.spec.template.spec.containers: containers is a sequence of 2 items, not a scalar; only a scalar value can be replaced: extend the path to one, e.g. $.spec.template.spec.containers[0]`},
		{"the root", "a: 1\n", "$", false, 1,
			`$: the document is a mapping (keys: a), not a scalar; only a scalar value can be replaced: extend the path to one, e.g. $.a`},
		{"recursive, nowhere", deployment, "$..tag", true, 2,
			`$..tag: no key "tag" anywhere in the document`},
		{"empty sequence", "a: []\n", "$.a[*]", true, 1, `$.a[*]: a is an empty sequence: [*] matches nothing`},
		{"empty file", "", "$.a", true, 0, `$.a: nothing matches (the file holds no document)`},
		{"merge key", "base: &b {image: a}\nweb:\n  <<: *b\n", "$.web.image", true, 3,
			`$.web.image: web has no key "image" (keys: <<); keys merged in with << are not edited here: edit the anchored value they come from`},
		{"anchored value that is aliased", "x: &img a:1\ny: *img\n", "$.x", false, 1,
			`$.x: x is the anchored value &img (line 1), which the alias *img repeats at line 2: changing it would change that place too; write the value out instead of the alias, or edit the file by hand`},
		{"inside an anchored value that is aliased", "base: &b\n  image: a:1\nweb: *b\n", "$.base.image", false, 2,
			`$.base.image: image is inside the anchored value &b (line 1), which the alias *b repeats at line 3: changing it would change that place too; write the value out instead of the alias, or edit the file by hand`},
		{"through an alias", "base: &b\n  image: a:1\nweb: *b\n", "$.web.image", false, 3,
			`$.web.image: web is an alias (*b) of the value anchored at line 1; an edit cannot go through an alias, since it would change every place using the anchor: write the value out here, or edit the anchored value by hand`},
		{"ending at an alias", "base: &b a:1\nweb: *b\n", "$.web", false, 2,
			`$.web: web is an alias (*b) of the value anchored at line 1; an edit cannot go through an alias, since it would change every place using the anchor: write the value out here, or edit the anchored value by hand`},
		{"invalid YAML", "a: [\n", "$.a", false, 1, `$.a: the file is not valid YAML: yaml: line 1: did not find expected node content`},
		{"tagged int", "a: !!int 3\n", "$.a", false, 1,
			`$.a: a is tagged !!int and "v2" is not a valid integer; remove the tag to store a string`},
		{"deepest miss of several documents", "kind: Service\nspec: {ports: []}\n---\nkind: Deployment\nspec:\n  template: {spec: {containers: []}}\n",
			"$.spec.template.spec.containers[0].image", true, 6,
			`$.spec.template.spec.containers[0].image: containers has 0 items (index 0 out of range) (in document 2 of 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := YAML([]byte(tt.in), tt.path, "v2")
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("got %+v, %v; want an *Error", res, err)
			}
			if errors.Is(err, ErrNotFound) != tt.notFound {
				t.Errorf("errors.Is(err, ErrNotFound) = %v", !tt.notFound)
			}
			if fe.Line != tt.line || fe.Path != tt.path {
				t.Errorf("Line, Path = %d, %q; want %d, %q", fe.Line, fe.Path, tt.line, tt.path)
			}
			if err.Error() != tt.msg {
				t.Errorf("got  %s\nwant %s", err, tt.msg)
			}
		})
	}
}

func TestYAMLRefusesLargeFilesAndAliasBombs(t *testing.T) {
	big := []byte("a: " + strings.Repeat("x", MaxFileSize) + "\n")
	if _, err := YAML(big, "$.a", "v"); err == nil || !strings.Contains(err.Error(), "files over 10.0 MiB are not edited") {
		t.Errorf("a large file: %v", err)
	}
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'i'; i++ {
		bomb += string(i) + ": &" + string(i) + " [" + strings.Repeat("*"+string(i-1)+", ", 9) + "*" + string(i-1) + "]\n"
	}
	bomb += "image: v1\n"
	_, err := YAML([]byte(bomb), "$.image", "v2")
	if err == nil || !strings.Contains(err.Error(), "the file is refused") {
		t.Errorf("an alias bomb: %v", err)
	}
	if _, err := YAML([]byte("a: x\n"), "$.a", "\xff"); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("a value that is not UTF-8: %v", err)
	}
}

func TestYAMLRefusesWhatWouldReadDifferently(t *testing.T) {
	// sameDocs is the last line of defence: a splice off by a few bytes
	// must be caught.
	in := []byte("a: x\nb: y\n")
	docs, err := decodeYAML("$.a", in, "the file")
	if err != nil {
		t.Fatal(err)
	}
	out, err := splice(in, []repl{{1, 4, "q"}})
	if err != nil {
		t.Fatal(err)
	}
	after, err := decodeYAML("$.a", out, "the edited file")
	if err == nil {
		err = sameDocs(docs, after, map[*yaml.Node]want{docs[0].Content[0].Content[1]: {value: "q", tag: "!!str"}})
	}
	if err == nil {
		t.Fatal("an edit that changed the key was accepted")
	}
}

func TestUnsafeEditMessage(t *testing.T) {
	err := unsafeEdit("$.a", 3, "v2", errorf("$.a", 4, "the edited file is not valid YAML: yaml: line 4: bad"))
	want := `$.a: cannot write "v2" here safely: the edited file would read differently (the edited file is not valid YAML: yaml: line 4: bad); edit the file by hand`
	if err.Error() != want || err.Line != 3 {
		t.Errorf("got %s (line %d)", err, err.Line)
	}
}
