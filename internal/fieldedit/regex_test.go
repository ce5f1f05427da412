package fieldedit

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRegex(t *testing.T) {
	in := "image: gcr.io/pipecd/helloworld:v0.1.0\r\n# image: gcr.io/pipecd/helloworld:v0.1.0\r\nother: gcr.io/pipecd/helloworld:v0.0.9\r\n"
	tests := []struct {
		name, in, pattern, value, want string
		old                            []string
		lines                          []int
	}{
		{"every match, CRLF kept", in, `gcr.io/pipecd/helloworld:(v[0-9]+\.[0-9]+\.[0-9]+)`, "v0.2.0",
			strings.ReplaceAll(strings.ReplaceAll(in, "v0.1.0", "v0.2.0"), "v0.0.9", "v0.2.0"), []string{"v0.1.0", "v0.1.0", "v0.0.9"}, []int{1, 2, 3}},
		{"PipeCD's example", in, "image: gcr.io/pipecd/helloworld:(v[0-9].[0-9].[0-9])", "v0.2.0",
			strings.ReplaceAll(in, "v0.1.0", "v0.2.0"), []string{"v0.1.0", "v0.1.0"}, []int{1, 2}},
		{"only the first group", "a=1 b=2\n", `([a-z])=([0-9])`, "z", "z=1 z=2\n", []string{"a", "b"}, []int{1, 1}},
		{"the value is literal", "tag: v1\n", `tag: (\S+)`, "$1${0}", "tag: $1${0}\n", []string{"v1"}, []int{1}},
		{"up to date", "tag: v1\n", `tag: (\S+)`, "v1", "tag: v1\n", nil, nil},
		{"some up to date", "tag: v1\ntag: v0\n", `tag: (\S+)`, "v1", "tag: v1\ntag: v1\n", []string{"v0"}, []int{2}},
		{"anchored with (?m)", "tag: v1\n  tag: v0\n", `(?m)^tag: (\S+)`, "v2", "tag: v2\n  tag: v0\n", []string{"v1"}, []int{1}},
		{"a group not taking part is left", "a1 b\n", `a([0-9])|b`, "7", "a7 b\n", []string{"1"}, []int{1}},
		{"a tab the text held", "k: a\tb\n", `k: (.*)`, "c\td", "k: c\td\n", []string{"a\tb"}, []int{1}},
		{"a scalar of YAML may change type", "tag: v1\nother: x\n", `tag: (\S+)`, "true", "tag: true\nother: x\n", []string{"v1"}, []int{1}},
		{"a YAML key may change", "replicas: 2\n", `(?m)^(\w+):`, "count", "count: 2\n", []string{"replicas"}, []int{1}},
		{"quotes inside a YAML string", "image: 'app:v1' # x\n", `image: '(.*)' #`, "v1 ''q''", "image: 'v1 ''q''' # x\n", []string{"app:v1"}, []int{1}},
		{"text that is not YAML has no structure", "FROM app:v1\nRUN make\n", `FROM app:(.+)`, "v2: x", "FROM app:v2: x\nRUN make\n", []string{"v1"}, []int{1}},
		{"JSON", `{"image": "app:v1", "n": 1}`, `"app:([^"]*)"`, "v2", `{"image": "app:v2", "n": 1}`, []string{"v1"}, []int{1}},
		{"a JSON key", `{"image": "app:v1"}`, `"(\w+)":`, "img", `{"img": "app:v1"}`, []string{"image"}, []int{1}},
		{"HCL", "image = \"app:v1\"\nport = 80\n", `app:([^"]*)`, "v2", "image = \"app:v2\"\nport = 80\n", []string{"v1"}, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Regex([]byte(tt.in), tt.pattern, tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Out) != tt.want || res.Changed != (tt.in != tt.want) {
				t.Errorf("got %v %q, want %q", res.Changed, res.Out, tt.want)
			}
			if !slices.Equal(res.Old, tt.old) || !slices.Equal(res.Lines, tt.lines) {
				t.Errorf("Old, Lines = %q, %v", res.Old, res.Lines)
			}
		})
	}
}

func TestRegexErrors(t *testing.T) {
	tests := []struct {
		in, pattern string
		notFound    bool
		msg         string
	}{
		{"tag: v1\n", `version: (\S+)`, true, `version: (\S+): the regular expression matches nothing in the file`},
		{"b\n", `a(x)|b`, true, `a(x)|b: the regular expression matches 1 time, but its first group takes part in none`},
		{"tag: v1\n", `tag: \S+`, false, `tag: \S+: the regular expression has no capturing group: put the part to replace in parentheses, e.g. image: app:(.+)`},
		{"tag: v1\n", `tag: (\S+`, false, "tag: (\\S+: invalid regular expression: error parsing regexp: missing closing ): `tag: (\\S+`"},
	}
	for _, tt := range tests {
		_, err := Regex([]byte(tt.in), tt.pattern, "v2")
		var fe *Error
		if !errors.As(err, &fe) || errors.Is(err, ErrNotFound) != tt.notFound || err.Error() != tt.msg {
			t.Errorf("got  %v\nwant %s", err, tt.msg)
		}
	}
}

// An event's value cannot add lines through a one-line group.
func TestRegexRefusesLineBreaksInOneLineGroups(t *testing.T) {
	data := []byte("image: app:v1\nreplicas: 2\n")
	_, err := Regex(data, `image: app:(\S+)`, "v2\ncommand: [sh, -c, evil]")
	if err == nil || !strings.Contains(err.Error(), "would add lines") {
		t.Fatalf("err = %v", err)
	}
	// A group that spans lines may take a value that does.
	res, err := Regex([]byte("notes: |\nold\nlines\nend"), `(?s)\|\n(.*)\nend`, "a\nb")
	if err != nil || string(res.Out) != "notes: |\na\nb\nend" {
		t.Fatalf("multi-line group: %q %v", res.Out, err)
	}
}

// A value may not hold a character YAML or a reader of the file could take
// for a line break, or a control character, where the text it replaces
// holds none.
func TestRegexRefusesCharactersNotOnOneLine(t *testing.T) {
	data := []byte("spec:\n  containers:\n    - name: web\n      image: gcr.io/acme/web:v1\n")
	const pattern = `image: gcr.io/acme/web:(\S+)`
	tests := []struct{ value, msg string }{
		{"v2\u0085      securityContext: {privileged: true}", "the value holds a line break (U+0085), and the text it would replace does not: it would add lines to the file"},
		{"v2\u2028x", "the value holds a line break (U+2028)"},
		{"v2\u2029x", "the value holds a line break (U+2029)"},
		{"v2\rx", `the value holds a line break (\r)`},
		{"v2\tx", "the value holds a tab, and the text it would replace does not: only characters printable on one line can replace it"},
		{"v2\x00", "the value holds the control character U+0000"},
		{"v2\x1b[2J", "the value holds the control character U+001B"},
		{"v2\x7f", "the value holds the control character U+007F"},
		{"v2\u0080", "the value holds the control character U+0080"},
		{"v2\u009b", "the value holds the control character U+009B"},
		{"\ufeffv2", "the value holds a byte order mark (U+FEFF)"},
	}
	for _, tt := range tests {
		_, err := Regex(data, pattern, tt.value)
		var fe *Error
		if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), pattern+": "+tt.msg) || fe.Line != 4 {
			t.Errorf("%q: got %v, want %s at line 4", tt.value, err, tt.msg)
		}
	}
	// A group holding a line break may take a value holding one, not
	// another kind of break.
	if _, err := Regex([]byte("notes: |\nold\nlines\nend"), `(?s)\|\n(.*)\nend`, "a\u2028b"); err == nil || !strings.Contains(err.Error(), "U+2028") {
		t.Errorf("U+2028 in a multi-line group: %v", err)
	}
}

// Run again over the edited file, the pattern must match as before, its
// group holding the value: a value the group does not match is refused.
func TestRegexRefusesValuesTheGroupDoesNotMatch(t *testing.T) {
	tests := []struct{ in, pattern, value, msg string }{
		{"image: app:v1.2\n", `image: app:(v[0-9.]+)`, "v2 --privileged",
			`image: app:(v[0-9.]+): in the edited file the regular expression's first group would hold "v2" here, not the value: the value does not fit the group; use a value its group matches, or a pattern that fits the value`},
		{"a=1 b=2\n", `(a)=([0-9])`, "z",
			"(a)=([0-9]): in the edited file the regular expression would match 0 times instead of 1 time: the value changes what it matches; use a value its group matches, or a pattern that fits the value"},
		{"k=a;\n", `k=([a-z])|;`, ";",
			"k=([a-z])|;: in the edited file the regular expression's first group would no longer take part in this match: use a value its group matches"},
	}
	for _, tt := range tests {
		_, err := Regex([]byte(tt.in), tt.pattern, tt.value)
		if err == nil || err.Error() != tt.msg {
			t.Errorf("%q:\ngot  %v\nwant %s", tt.value, err, tt.msg)
		}
	}
}

// A value that fits the pattern but adds structure to a YAML, JSON or HCL
// file (an item, a key, an alias, an interpolation) is refused.
func TestRegexKeepsTheFilesStructure(t *testing.T) {
	tests := []struct{ name, in, pattern, value, msg string }{
		{"a flow sequence item", "spec:\n  containers:\n  - name: web\n    args: [\"--tag=v1\"]\n", `--tag=(.*)"\]`, `v2","--privileged`,
			`--tag=(.*)"\]: the value would change the file's YAML structure (line 4: a sequence of 1 item now has 2 items); the value must fit inside the text it replaces: check it, or use yamlField, jsonField or hclField`},
		{"a flow mapping key", "spec: {image: app:v1, replicas: 2}\n", `image: app:(.*), replicas`, "v2, privileged: true",
			`image: app:(.*), replicas: the value would change the file's YAML structure (line 1: 1 new key under a mapping (keys: image, replicas): privileged); the value must fit inside the text it replaces: check it, or use yamlField, jsonField or hclField`},
		{"an alias", "base: &x {privileged: true}\nimage: v1\n", `image: (\S+)`, "*x",
			"line 2: a string became an alias (*x)"},
		{"an anchor", "image: v1\n", `image: (.+)`, "&a v2",
			"line 1: the anchor of a string changed"},
		{"a tag", "image: v1\nn: 1\n", `image: (.+)`, "!!binary djI=",
			"line 1: the tag of a string changed"},
		{"a key that merges", "base: &b {privileged: true}\nspec:\n  name: *b\n", `(?m)^  ([^:]+):`, "<<",
			"line 3: a string became a scalar !!merge"},
		{"invalid YAML", "a: [x]\nb: 1\n", `a: \[(.*)\]`, "x]]",
			"the value would change the file's YAML structure (the edited file is not valid YAML: yaml: did not find expected key)"},
		{"JSON that yaml.v3 refuses", `{"url": "http:\/\/x", "args": ["--tag=v1"]}`, `--tag=(.*)"\]`, `v2", "--privileged`,
			"the value would change the file's JSON structure (line 1: a sequence of 1 item now has 2 items)"},
		{"an HCL list item", "image = \"app:v1\"\nargs = [\"--tag=v1\"]\n", `--tag=(.*)"\]`, `v2", "--privileged`,
			`the value would change the file's HCL structure (line 2: the edited file has "," where the original has "]")`},
		{"an HCL interpolation", "image = \"app:v1\"\n", `image = "app:(.*)"`, `${file("/etc/passwd")}`,
			"the value would change the file's HCL structure (line 1: the edited file has an interpolation (${) where the original has a closing quote)"},
		{"an HCL comment", "/* v1 */\nimage = \"app\"\n", `/\* (.*) \*/`, "x */ y = 1 /* z",
			"HCL structure (line 1: the edited file has a name where the original has"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Regex([]byte(tt.in), tt.pattern, tt.value)
			var fe *Error
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got  %v\nwant %s", err, tt.msg)
			}
		})
	}
}

// FuzzRegex edits arbitrary text: the editor never panics, fails with an
// *Error, and an edit it makes is one that running again leaves as is.
func FuzzRegex(f *testing.F) {
	patterns := []string{`image: app:(\S+)`, `--tag=(.*)"\]`, `"app:([^"]*)"`, `(?m)^(\w+):`, `a([0-9])|b`, `(?s)\|\n(.*)\nend`, `= "(.*)"`}
	f.Add([]byte("image: app:v1\nargs: [\"--tag=v1\"]\n"), uint8(0), "v2")
	f.Add([]byte("args: [\"--tag=v1\"]\n"), uint8(1), `v2","--x`)
	f.Add([]byte(`{"image": "app:v1"}`), uint8(2), `v2", "x": "y`)
	f.Add([]byte("image = \"app:v1\"\n"), uint8(6), "${var.x}")
	f.Add([]byte("notes: |\nold\nend"), uint8(5), "a\nb")
	f.Fuzz(func(t *testing.T, data []byte, pick uint8, value string) {
		if len(data) > 16<<10 || len(value) > 256 {
			return
		}
		pattern := patterns[int(pick)%len(patterns)]
		res, err := Regex(data, pattern, value)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("an error that is not an *Error: %v", err)
			}
			return
		}
		again, err := Regex(res.Out, pattern, value)
		if err != nil || again.Changed {
			t.Fatalf("%q = %q: the edited file %q is not up to date: %v", pattern, value, res.Out, err)
		}
	})
}

// A file on one line (minified JSON, a long flow sequence) is checked in
// linear time: positions are not counted from the start of the line for
// each of its nodes.
func TestRegexOneLineFile(t *testing.T) {
	in := `{"image": "app:v1", "items": [` + strings.Repeat(`"x", `, 100000) + `"x"]}`
	res, err := Regex([]byte(in), `"app:([^"]*)"`, "v2")
	if err != nil || !strings.HasPrefix(string(res.Out), `{"image": "app:v2", "items": ["x", `) {
		t.Fatalf("%.40q %v", res.Out, err)
	}
}

// cursor finds the offsets Source.Offset does, in file order or not.
func TestCursor(t *testing.T) {
	data := []byte("\ufeffa: é\r\nb: [x, ü, {c: 1}]\u2028d: 2\n  - e\n")
	src := NewSource(data)
	c := &cursor{src: src}
	type pos struct{ line, col int }
	var all []pos
	for l := 0; l <= 6; l++ {
		for col := 0; col <= 22; col++ {
			all = append(all, pos{l, col})
		}
	}
	all = append(all, pos{2, 9}, pos{2, 3}, pos{1, 4}, pos{2, 12}, pos{2, 1}, pos{3, 2})
	for _, p := range all {
		wo, wok := src.Offset(p.line, p.col)
		o, ok := c.offset(p.line, p.col)
		if ok != wok || ok && o != wo {
			t.Errorf("offset(%d, %d) = %d %v, want %d %v", p.line, p.col, o, ok, wo, wok)
		}
	}
}
