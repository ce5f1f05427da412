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
		{"only the first group", "a=1 b=2\n", `(a)=([0-9])`, "z", "z=1 b=2\n", []string{"a"}, []int{1}},
		{"the value is literal", "tag: v1\n", `tag: (\S+)`, "$1${0}", "tag: $1${0}\n", []string{"v1"}, []int{1}},
		{"up to date", "tag: v1\n", `tag: (\S+)`, "v1", "tag: v1\n", nil, nil},
		{"some up to date", "tag: v1\ntag: v0\n", `tag: (\S+)`, "v1", "tag: v1\ntag: v1\n", []string{"v0"}, []int{2}},
		{"anchored with (?m)", "tag: v1\n  tag: v0\n", `(?m)^tag: (\S+)`, "v2", "tag: v2\n  tag: v0\n", []string{"v1"}, []int{1}},
		{"a group not taking part is left", "a1 b\n", `a([0-9])|b`, "X", "aX b\n", []string{"1"}, []int{1}},
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
