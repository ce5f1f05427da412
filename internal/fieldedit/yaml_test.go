package fieldedit

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

const deployment = `# The web front end.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # line comment
  labels:
    app: web
spec:
  replicas: 3
  template:
    spec:
      containers:
        # the application
        - name: web
          image: gcr.io/pipecd/web:v0.1.0 # bumped by the event watcher
          ports:
            - containerPort: 8080
        - name: sidecar
          image: "envoyproxy/envoy:v1.29"
      # foot of containers
# foot of the document
`

// yamlCase is an edit and the exact file it must produce.
type yamlCase struct {
	name, in, path, value, want string
	old                         []string
	lines                       []int
}

func runYAMLCases(t *testing.T, tests []yamlCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := YAML([]byte(tt.in), tt.path, tt.value)
			if err != nil {
				t.Fatalf("YAML(%s, %q): %v", tt.path, tt.value, err)
			}
			if string(res.Out) != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", res.Out, tt.want)
			}
			if res.Changed != (tt.want != tt.in) {
				t.Errorf("Changed = %v", res.Changed)
			}
			if !slices.Equal(res.Old, tt.old) || !slices.Equal(res.Lines, tt.lines) {
				t.Errorf("Old, Lines = %q, %v; want %q, %v", res.Old, res.Lines, tt.old, tt.lines)
			}
		})
	}
}

func TestYAMLKeepsEveryOtherByte(t *testing.T) {
	d := func(old, new string) string { return strings.Replace(deployment, old, new, 1) }
	runYAMLCases(t, []yamlCase{
		{name: "Deployment image, comments kept", in: deployment, path: "$.spec.template.spec.containers[0].image", value: "gcr.io/pipecd/web:v0.2.0",
			want: d("web:v0.1.0 #", "web:v0.2.0 #"), old: []string{"gcr.io/pipecd/web:v0.1.0"}, lines: []int{15}},
		{name: "double-quoted stays double-quoted", in: deployment, path: "$.spec.template.spec.containers[1].image", value: "envoyproxy/envoy:v1.30",
			want: d(`"envoyproxy/envoy:v1.29"`, `"envoyproxy/envoy:v1.30"`), old: []string{"envoyproxy/envoy:v1.29"}, lines: []int{19}},
		{name: "[*]", in: deployment, path: "$.spec.template.spec.containers[*].image", value: "x:1",
			want: strings.Replace(d("gcr.io/pipecd/web:v0.1.0", "x:1"), `"envoyproxy/envoy:v1.29"`, `"x:1"`, 1),
			old:  []string{"gcr.io/pipecd/web:v0.1.0", "envoyproxy/envoy:v1.29"}, lines: []int{15, 19}},
		{name: "..image, recursive", in: deployment, path: "$..image", value: "x:1",
			want: strings.Replace(d("gcr.io/pipecd/web:v0.1.0", "x:1"), `"envoyproxy/envoy:v1.29"`, `"x:1"`, 1),
			old:  []string{"gcr.io/pipecd/web:v0.1.0", "envoyproxy/envoy:v1.29"}, lines: []int{15, 19}},
		{name: "already up to date", in: deployment, path: "$.spec.template.spec.containers[0].image", value: "gcr.io/pipecd/web:v0.1.0", want: deployment},
		{name: "plain int stays plain int", in: deployment, path: "$.spec.replicas", value: "4",
			want: d("replicas: 3", "replicas: 4"), old: []string{"3"}, lines: []int{9}},
		{name: "plain int replaced by a string is quoted", in: deployment, path: "$.spec.replicas", value: "abc",
			want: d("replicas: 3", `replicas: "abc"`), old: []string{"3"}, lines: []int{9}},
		{name: "plain string replaced by true is quoted", in: deployment, path: "$.metadata.labels.app", value: "true",
			want: d("app: web", `app: "true"`), old: []string{"web"}, lines: []int{7}},
		{name: "indentless sequence", in: "spec:\n  containers:\n  - name: a\n    image: a:1\n  - name: b\n    image: b:1\n", path: "$.spec.containers[1].image", value: "b:2",
			want: "spec:\n  containers:\n  - name: a\n    image: a:1\n  - name: b\n    image: b:2\n", old: []string{"b:1"}, lines: []int{6}},
		{name: "four-space indentation, foot comment", in: "spec:\n    image: a:1\n    # foot\n", path: "$.spec.image", value: "a:2",
			want: "spec:\n    image: a:2\n    # foot\n", old: []string{"a:1"}, lines: []int{2}},
	})
}

func TestYAMLLayouts(t *testing.T) {
	runYAMLCases(t, []yamlCase{
		{name: "flow mapping, double-quoted", in: "containers: [{name: web, image: \"a:1\"}]\n", path: "$.containers[0].image", value: "a:2",
			want: "containers: [{name: web, image: \"a:2\"}]\n", old: []string{"a:1"}, lines: []int{1}},
		{name: "flow sequence, plain", in: "args: [a, b]\n", path: "$.args[1]", value: "c",
			want: "args: [a, c]\n", old: []string{"b"}, lines: []int{1}},
		{name: "a comma in a flow sequence is quoted", in: "args: [a, b]\n", path: "$.args[1]", value: "c,d",
			want: "args: [a, \"c,d\"]\n", old: []string{"b"}, lines: []int{1}},
		{name: "a comma in block context stays plain", in: "args: b\n", path: "$.args", value: "c,d",
			want: "args: c,d\n", old: []string{"b"}, lines: []int{1}},
		{name: "CRLF", in: "a: 1\r\nb:\r\n  c: x # c\r\n  d: y\r\n", path: "$.b.c", value: "z",
			want: "a: 1\r\nb:\r\n  c: z # c\r\n  d: y\r\n", old: []string{"x"}, lines: []int{3}},
		{name: "byte order mark", in: "\ufeffimage: a:1\n", path: "$.image", value: "a:2",
			want: "\ufeffimage: a:2\n", old: []string{"a:1"}, lines: []int{1}},
		{name: "byte order mark, flow", in: "\ufeff{image: a:1, b: 2}\n", path: "$.b", value: "3",
			want: "\ufeff{image: a:1, b: 3}\n", old: []string{"2"}, lines: []int{1}},
		{name: "tabs in comments", in: "a: x\t# a\tcomment\n#\tfoot\n", path: "$.a", value: "z",
			want: "a: z\t# a\tcomment\n#\tfoot\n", old: []string{"x"}, lines: []int{1}},
		{name: "no final newline", in: "a: x", path: "$.a", value: "yy", want: "a: yy", old: []string{"x"}, lines: []int{1}},
		{name: "multi-line plain scalar", in: "a: one\n  two\n\n  three\nb: 1\n", path: "$.a", value: "four",
			want: "a: four\nb: 1\n", old: []string{"one two\nthree"}, lines: []int{1}},
		{name: "multi-line double-quoted scalar", in: "a: \"one\\\n  two\"\nb: 1\n", path: "$.a", value: "x",
			want: "a: \"x\"\nb: 1\n", old: []string{"onetwo"}, lines: []int{1}},
		{name: "single-quoted escapes '", in: "a: 'x'\n", path: "$.a", value: "it's",
			want: "a: 'it''s'\n", old: []string{"x"}, lines: []int{1}},
		{name: "single-quoted with a newline becomes double-quoted", in: "a: 'x'\n", path: "$.a", value: "1\n2",
			want: "a: \"1\\n2\"\n", old: []string{"x"}, lines: []int{1}},
		{name: "tag and anchor kept", in: "a: &t !!str x\n", path: "$.a", value: "y",
			want: "a: &t !!str y\n", old: []string{"x"}, lines: []int{1}},
		{name: "tag on its own line", in: "a: !!str\n  x\n", path: "$.a", value: "7",
			want: "a: !!str\n  7\n", old: []string{"x"}, lines: []int{1}},
		{name: "empty value", in: "a:\nb: 1\n", path: "$.a", value: "v1",
			want: "a: \"v1\"\nb: 1\n", old: []string{""}, lines: []int{1}},
		{name: "empty value with a comment", in: "a: # none yet\nb: 1\n", path: "$.a", value: "v1",
			want: "a: \"v1\" # none yet\nb: 1\n", old: []string{""}, lines: []int{1}},
		{name: "a document that is a scalar", in: "--- v1\n", path: "$", value: "v2",
			want: "--- v2\n", old: []string{"v1"}, lines: []int{1}},
	})
}

func TestYAMLKeys(t *testing.T) {
	in := `metadata:
  annotations:
    example.com/tag: v1
    "quoted key": v1
    'it''s': v1
    a.b: {c: v1}
`
	tests := []struct{ path, from, to string }{
		{"$.metadata.annotations['example.com/tag']", "example.com/tag: v1", "example.com/tag: v2"},
		{`$.metadata.annotations["example.com/tag"]`, "example.com/tag: v1", "example.com/tag: v2"},
		{"$.metadata.annotations.'example.com/tag'", "example.com/tag: v1", "example.com/tag: v2"},
		{"$.metadata.annotations.quoted key", `"quoted key": v1`, `"quoted key": v2`},
		{`$.metadata.annotations['it\'s']`, "'it''s': v1", "'it''s': v2"},
		{`$.metadata.annotations["it's"]`, "'it''s': v1", "'it''s': v2"},
		{"$.metadata.annotations['a.b'].c", "{c: v1}", "{c: v2}"},
	}
	for _, tt := range tests {
		res, err := YAML([]byte(in), tt.path, "v2")
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		if want := strings.Replace(in, tt.from, tt.to, 1); string(res.Out) != want {
			t.Errorf("%s: got\n%s", tt.path, res.Out)
		}
	}
}

func TestYAMLValues(t *testing.T) {
	tests := []struct{ old, value, want string }{
		{"x", "a: b", `"a: b"`},
		{"x", "#x", `"#x"`},
		{"x", "a #b", `"a #b"`},
		{"x", "a#b", "a#b"},
		{"x", "", `""`},
		{"x", " lead", `" lead"`},
		{"x", "trail ", `"trail "`},
		{"x", "1.0", `"1.0"`},
		{"x", "null", `"null"`},
		{"x", "~", `"~"`},
		// Strings in YAML 1.2 (yaml.v3), not in YAML 1.1 (sigs.k8s.io/yaml).
		{"x", "yes", `"yes"`},
		{"x", "Y", `"Y"`},
		{"x", "off", `"off"`},
		{"x", "ON", `"ON"`},
		{"x", "1:20", `"1:20"`},
		{"x", "-190:20:30.15", `"-190:20:30.15"`},
		{"yes", "no", "no"}, // a YAML 1.1 boolean stays one
		{"On", "OFF", "OFF"},
		{"yes", "1:20", `"1:20"`},
		{"1:20", "2:30", "2:30"},
		{"1:20", "n", `"n"`},
		{"1:20", "1:20.5", `"1:20.5"`},
		{"'yes'", "no", "'no'"},
		{"x", "yesterday", "yesterday"},
		{"x", "1:60", "1:60"}, // not sexagesimal: the encoder writes it plain
		{"x", "0x1F", `"0x1F"`},
		{"x", "- a", `"- a"`},
		{"x", "[a]", `"[a]"`},
		{"x", "{a: 1}", `"{a: 1}"`},
		{"x", "*alias", `"*alias"`},
		{"x", "&anchor", `"&anchor"`},
		{"x", "!tag", `"!tag"`},
		{"x", "---", `"---"`},
		{"x", "say \"hi\"", `say "hi"`},
		{"x", "'q'", `"'q'"`},
		{"x", "ünïcødé ✓ 🚀", "ünïcødé ✓ 🚀"},
		{"x", "two\nlines", `"two\nlines"`},
		{"x", "tab\there", `"tab\there"`},
		{"x", "nul\x00bell\a\u0085\u2028", `"nul\0bell\a\N\L"`},
		{"x", "bom\ufeff", `"bom\uFEFF"`},
		{"x", "back\\slash", `back\slash`},
		{"'x'", "back\\slash", `'back\slash'`},
		{`"x"`, "back\\slash \"q\"", `"back\\slash \"q\""`},
		{"3", "-4", "-4"},
		{"3", "4.5", `"4.5"`},
		{"3.5", "4", `"4"`},
		{"3.5", "-.5", "-.5"},
		{"true", "false", "false"},
		{"true", "no", `"no"`},
		{"null", "~", "~"},
		{"2024-01-02", "2025-03-04", "2025-03-04"},
	}
	for _, tt := range tests {
		in := "k: " + tt.old + " # c\n"
		res, err := YAML([]byte(in), "$.k", tt.value)
		if err != nil {
			t.Errorf("%s -> %q: %v", tt.old, tt.value, err)
			continue
		}
		if want := "k: " + tt.want + " # c\n"; string(res.Out) != want {
			t.Errorf("%s -> %q: got %q, want %q", tt.old, tt.value, res.Out, want)
		}
	}
}

func TestYAMLMultiDocument(t *testing.T) {
	in := "# services\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 80}]\n---\n" +
		strings.TrimSuffix(deployment, "\n") + "\n---\napiVersion: v1\nkind: ConfigMap\ndata:\n  image: old\n...\n"
	res, err := YAML([]byte(in), "$.spec.template.spec.containers[0].image", "web:v2")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(in, "gcr.io/pipecd/web:v0.1.0", "web:v2", 1); string(res.Out) != want {
		t.Errorf("got:\n%s", res.Out)
	}
	if !slices.Equal(res.Lines, []int{22}) {
		t.Errorf("Lines = %v", res.Lines)
	}
	// ..image reaches every document.
	res, err = YAML([]byte(in), "$..image", "v3")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer("gcr.io/pipecd/web:v0.1.0", "v3", `"envoyproxy/envoy:v1.29"`, `"v3"`, "image: old", "image: v3").Replace(in)
	if string(res.Out) != want || !slices.Equal(res.Lines, []int{22, 26, 33}) {
		t.Errorf("got %v:\n%s", res.Lines, res.Out)
	}
}

func TestYAMLUnchangedReturnsTheInput(t *testing.T) {
	in := []byte("a: v1\nb: [v1]\n")
	res, err := YAML(in, "$..a", "v1")
	if err != nil || res.Changed || &res.Out[0] != &in[0] || len(res.Old) != 0 {
		t.Errorf("got %+v, %v", res, err)
	}
	// Only the places that differ are replaced and reported.
	in = []byte("- {image: v1}\n- {image: v0}\n")
	res, err = YAML(in, "$[*].image", "v1")
	if err != nil || !res.Changed || !bytes.Equal(res.Out, []byte("- {image: v1}\n- {image: v1}\n")) || !slices.Equal(res.Lines, []int{2}) {
		t.Errorf("got %+v, %v", res, err)
	}
}
