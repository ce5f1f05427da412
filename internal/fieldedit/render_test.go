package fieldedit

import (
	"testing"

	"gopkg.in/yaml.v3"
	k8syaml "sigs.k8s.io/yaml"
)

func TestYAMLBlockScalars(t *testing.T) {
	runYAMLCases(t, []yamlCase{
		{name: "literal keeps its style and indentation", in: "a:\n  script: |  # run it\n      echo one\n      echo two\n  b: 1\n", path: "$.a.script", value: "echo 1\necho 2\necho 3\n",
			want: "a:\n  script: |  # run it\n      echo 1\n      echo 2\n      echo 3\n  b: 1\n", old: []string{"echo one\necho two\n"}, lines: []int{2}},
		{name: "literal, CRLF, blank lines kept after it", in: "s: |\r\n  x\r\n  y\r\n\r\nb: 1\r\n", path: "$.s", value: "p\n\nq\n",
			want: "s: |\r\n  p\r\n\r\n  q\r\n\r\nb: 1\r\n", old: []string{"x\ny\n"}, lines: []int{1}},
		{name: "strip indicator follows the value", in: "s: |-\n  x\n  y\nb: 1\n", path: "$.s", value: "p\nq\n",
			want: "s: |\n  p\n  q\nb: 1\n", old: []string{"x\ny"}, lines: []int{1}},
		{name: "no final line break: strip", in: "s: |\n  x\n  y\nb: 1\n", path: "$.s", value: "p\nq",
			want: "s: |-\n  p\n  q\nb: 1\n", old: []string{"x\ny\n"}, lines: []int{1}},
		{name: "leading spaces need an indentation indicator", in: "s: |\n  x\n  y\n", path: "$.s", value: "  indented\nq\n",
			want: "s: |2\n    indented\n  q\n", old: []string{"x\ny\n"}, lines: []int{1}},
		{name: "explicit indentation kept", in: "s: |4\n     x\n", path: "$.s", value: "p\nq\n",
			want: "s: |4\n    p\n    q\n", old: []string{" x\n"}, lines: []int{1}},
		{name: "folded: line breaks doubled to stay breaks", in: "s: >\n  old text\n  folded\nb: 1\n", path: "$.s", value: "line one\nline two\n\n  more indented\nlast\n",
			want: "s: >\n  line one\n\n  line two\n\n    more indented\n  last\nb: 1\n", old: []string{"old text folded\n"}, lines: []int{1}},
		{name: "block item of a sequence", in: "args:\n- |\n  x\n  y\n- z\n", path: "$.args[0]", value: "p\nq\n",
			want: "args:\n- |\n  p\n  q\n- z\n", old: []string{"x\ny\n"}, lines: []int{2}},
		{name: "last in the file without a final line break", in: "s: |\n  x\n  y", path: "$.s", value: "p\nq\n",
			want: "s: |\n  p\n  q\n", old: []string{"x\ny"}, lines: []int{1}},
		{name: "one line replaces a block by a double-quoted scalar", in: "s: |  # note\n  x\n  y\nb: 1\n", path: "$.s", value: "one line",
			want: "s: \"one line\"  # note\nb: 1\n", old: []string{"x\ny\n"}, lines: []int{1}},
		{name: "several trailing line breaks are double-quoted", in: "s: |+\n  x\n\nb: 1\n", path: "$.s", value: "p\nq\n\n",
			want: "s: \"p\\nq\\n\\n\"\n\nb: 1\n", old: []string{"x\n\n"}, lines: []int{1}},
		{name: "an empty block", in: "s: |\nb: 1\n", path: "$.s", value: "p\nq\n",
			want: "s: |\n  p\n  q\nb: 1\n", old: []string{""}, lines: []int{1}},
		{name: "a document that is a block", in: "--- |\n  x\n  y\n", path: "$", value: "p\nq\n",
			want: "--- |\n  p\n  q\n", old: []string{"x\ny\n"}, lines: []int{1}},
		{name: "a plain scalar takes a multi-line value double-quoted", in: "s: x\n", path: "$.s", value: "p\nq\n",
			want: "s: \"p\\nq\\n\"\n", old: []string{"x"}, lines: []int{1}},
	})
}

func TestFormatScalar(t *testing.T) {
	tests := []struct {
		v     string
		style yaml.Style
		tag   string
		flow  bool
		want  string
	}{
		{"v1.2.3", 0, "!!str", false, "v1.2.3"},
		{"v1.2.3", yaml.DoubleQuotedStyle, "!!str", false, `"v1.2.3"`},
		{"v1.2.3", yaml.SingleQuotedStyle, "!!str", false, `'v1.2.3'`},
		{"12", 0, "!!str", false, `"12"`},
		{"12", 0, "!!int", false, "12"},
		{"12", 0, "", false, "12"},
		{"a,b", 0, "!!str", false, "a,b"},
		{"a,b", 0, "!!str", true, `"a,b"`},
		{"a}", 0, "!!str", true, `"a}"`},
		{"a:b", 0, "!!str", true, "a:b"},
		{"a:", 0, "!!str", false, `"a:"`},
		{"-", 0, "!!str", false, `"-"`},
		{"?x", 0, "!!str", false, `"?x"`},
		{"%x", 0, "!!str", false, `"%x"`},
		{"@x", 0, "!!str", false, `"@x"`},
		{"`x", 0, "!!str", false, "\"`x\""},
		{"it's", yaml.SingleQuotedStyle, "", false, "'it''s'"},
		{"a\tb", yaml.SingleQuotedStyle, "", false, `"a\tb"`},
		{"\x7f\u0080\U0001F600", 0, "", false, `"\x7F\x80` + "\U0001F600" + `"`},
		{"\uFFFE\U000E0001", yaml.DoubleQuotedStyle, "", false, `"\uFFFE` + "\U000E0001" + `"`},
	}
	for _, tt := range tests {
		if got := FormatScalar(tt.v, tt.style, tt.tag, tt.flow); got != tt.want {
			t.Errorf("FormatScalar(%q, %v, %q, %v) = %s, want %s", tt.v, tt.style, tt.tag, tt.flow, got, tt.want)
		}
		// Whatever the style, it reads back as the value.
		var n yaml.Node
		if err := yaml.Unmarshal([]byte("k: "+FormatScalar(tt.v, tt.style, tt.tag, tt.flow)), &n); err != nil || n.Content[0].Content[1].Value != tt.v {
			t.Errorf("%q does not read back: %v", tt.v, err)
		}
	}
}

// A string written for a plain string reads as that string in YAML 1.1
// too: Kubernetes and Helm read manifests with sigs.k8s.io/yaml, which
// takes yes, off and y for booleans.
func TestFormatScalarReadsAsAStringInYAML11(t *testing.T) {
	values := []string{
		"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"on", "On", "ON", "off", "Off", "OFF", "true", "True", "FALSE",
		"~", "null", "Null", "NULL", "", "<<", "=",
		"1", "-1", "+1", "0777", "0o17", "0x1F", "0b101", "-0b101", "1_000", "1__0",
		".5", "1e3", "1.5e-3", "+.inf", ".NaN", "1:20", "-1:20:30.5", "190:20:30",
		"2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
		"v1.2.3", "yesterday", "1:60", "0.0.1", "1_2_3.4",
	}
	for _, v := range values {
		text := FormatScalar(v, 0, "!!str", false)
		var got map[string]any
		if err := k8syaml.Unmarshal([]byte("k: "+text+"\n"), &got); err != nil {
			t.Errorf("%q written %s: %v", v, text, err)
			continue
		}
		if s, ok := got["k"].(string); !ok || s != v {
			t.Errorf("%q written %s reads in sigs.k8s.io/yaml as %T %v", v, text, got["k"], got["k"])
		}
	}
}
