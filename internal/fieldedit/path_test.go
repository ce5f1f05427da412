package fieldedit

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"$", "$"},
		{"$.spec.template.spec.containers[0].image", "$.spec.template.spec.containers[0].image"},
		{"$.a[*].b", "$.a[*].b"},
		{"$..image", "$..image"},
		{"$..['a.b']", "$..['a.b']"},
		{"$.'a.b'.c", "$['a.b'].c"},
		{`$.'it\'s'`, `$['it\'s']`},
		{`$["a[0]"]`, `$['a[0]']`},
		{"$['x'][1][22]", "$.x[1][22]"},
		{"$.a b.$ref", "$.a b.$ref"},
		{"$[0]", "$[0]"},
	}
	for _, tt := range tests {
		p, err := parsePath(tt.in, false)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		var b strings.Builder
		b.WriteString("$")
		for _, s := range p.steps {
			b.WriteString(s.String())
		}
		if b.String() != tt.want {
			t.Errorf("%s: parsed as %s, want %s", tt.in, b.String(), tt.want)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "the path is empty; write one such as $.spec.template.spec.containers[0].image"},
		{"spec.image", "invalid path: at character 1: a path starts with $ (the document's root), e.g. $.spec.image"},
		{"$.", "invalid path: at character 2: a key is missing after the '.' that ends the path"},
		{"$.a..", "invalid path: at character 4: a key is missing after the '.' that ends the path"},
		{"$.a.[0]", "invalid path: at character 4: a key is missing after '.'"},
		{"$.a[", "invalid path: at character 4: '[' ends the path; expected [n], [*] or ['key']"},
		{"$.a[1", "invalid path: at character 4: '[' is never closed by ']'"},
		{"$.a[x]", "invalid path: at character 5: expected an index ([0]), [*] or a quoted key (['key']) after '[', found \"x\""},
		{"$.a[-1]", "invalid path: at character 5: negative indexes are not supported; count from 0"},
		{"$.a[99999999999999999999]", "invalid path: at character 5: the index 99999999999999999999 is too large"},
		{"$.a]", "invalid path: at character 4: ']' without '['"},
		{"$.a*", "invalid path: at character 4: '*' is only allowed as [*] (every item of a sequence); quote a key holding it: ['a*']"},
		{"$.'a", "invalid path: at character 3: the quote ' is never closed"},
		{"$.''", "invalid path: at character 3: an empty quoted key"},
		{"$.'a'b", "invalid path: at character 6: expected '.', '[' or the end after the quoted key \"a\""},
		{"$..[0]", "invalid path: at character 2: '..' takes a key (..image), not an index"},
		{"$x", "invalid path: at character 2: expected '.', '..' or '[' before \"x\""},
		{"$.a'b", "invalid path: at character 4: a quote inside a key: quote the whole key instead, e.g. ['it\\'s']"},
	}
	for _, tt := range tests {
		_, err := parsePath(tt.in, false)
		if err == nil {
			t.Errorf("%q: parsed", tt.in)
			continue
		}
		want := tt.in + ": " + tt.want
		if tt.in == "" {
			want = tt.want
		}
		if err.Error() != want {
			t.Errorf("%q:\n got  %s\n want %s", tt.in, err, want)
		}
	}
}

func TestParsePathImplicitRoot(t *testing.T) {
	for in, want := range map[string]int{"image_tag": 1, "module.web.image_tag": 3, "$.locals.image": 2, "module.'web.v2'.tag": 3} {
		p, err := parsePath(in, true)
		if err != nil || len(p.steps) != want {
			t.Errorf("%s: %v, %v", in, p, err)
		}
	}
}
