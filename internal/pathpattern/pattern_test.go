package pathpattern

import (
	"errors"
	"path"
	"testing"
)

// The cases of PipeCD's pkg/filematcher tests (themselves from Docker's
// fileutils), which trigger.onCommit patterns must keep passing.
func TestPatternPipeCD(t *testing.T) {
	for _, tc := range []struct {
		pattern, file string
		want          bool
	}{
		{"**", "file", true},
		{"**", "file/", true},
		{"**/", "file", true},
		{"**/", "file/", true},
		{"**", "/", true},
		{"**/", "/", true},
		{"**", "dir/file", true},
		{"**/", "dir/file", true},
		{"**", "dir/file/", true},
		{"**/", "dir/file/", true},
		{"**/**", "dir/file", true},
		{"**/**", "dir/file/", true},
		{"dir/**", "dir/file", true},
		{"dir/**", "dir/file/", true},
		{"dir/**", "dir/dir2/file", true},
		{"dir/**", "dir/dir2/file/", true},
		{"**/dir2/*", "dir/dir2/file", true},
		{"**/dir2/*", "dir/dir2/file/", true},
		{"**/dir2/**", "dir/dir2/dir3/file", true},
		{"**/dir2/**", "dir/dir2/dir3/file/", true},
		{"**file", "file", true},
		{"**file", "dir/file", true},
		{"**/file", "dir/file", true},
		{"**file", "dir/dir/file", true},
		{"**/file", "dir/dir/file", true},
		{"**/file*", "dir/dir/file", true},
		{"**/file*", "dir/dir/file.txt", true},
		{"**/file*txt", "dir/dir/file.txt", true},
		{"**/file*.txt", "dir/dir/file.txt", true},
		{"**/file*.txt*", "dir/dir/file.txt", true},
		{"**/**/*.txt", "dir/dir/file.txt", true},
		{"**/**/*.txt2", "dir/dir/file.txt", false},
		{"**/*.txt", "file.txt", true},
		{"**/**/*.txt", "file.txt", true},
		{"a**/*.txt", "a/file.txt", true},
		{"a**/*.txt", "a/dir/file.txt", true},
		{"a**/*.txt", "a/dir/dir/file.txt", true},
		{"a/*.txt", "a/dir/file.txt", false},
		{"a/*.txt", "a/file.txt", true},
		{"a/*.txt**", "a/file.txt", true},
		{"a[b-d]e", "ae", false},
		{"a[b-d]e", "ace", true},
		{"a[b-d]e", "aae", false},
		{"a[^b-d]e", "aze", true},
		{".*", ".foo", true},
		{".*", "foo", false},
		{"abc.def", "abcdef", false},
		{"abc.def", "abc.def", true},
		{"abc.def", "abcZdef", false},
		{"abc?def", "abcZdef", true},
		{"abc?def", "abcdef", false},
		{`a\\`, `a\`, true},
		{"**/foo/bar", "foo/bar", true},
		{"**/foo/bar", "dir/foo/bar", true},
		{"**/foo/bar", "dir/dir2/foo/bar", true},
		{"abc/**", "abc", false},
		{"abc/**", "abc/def", true},
		{"abc/**", "abc/def/ghi", true},
		{"**/.foo", ".foo", true},
		{"**/.foo", "bar.foo", false},
		{"+file", "+file", true},
		{"+file", "file", false},
		{"a+b", "a+b", true},
		{"a+b", "ab", false},
		{"a+b", "aaab", false},
		{"dir(1)/file", "dir(1)/file", true},
		{"dir(1)/file", "dir1/file", false},
		{"a{b}c", "a{b}c", true},
		{"a{b}c", "abc", false},
		{"^file", "^file", true},
		{"^file", "file", false},
		{"a^b", "a^b", true},
		{"a|b", "a|b", true},
		{"a|b", "a", false},
		{"a|b", "b", false},
		// PipeCD's determiner cases, and pipe's own.
		{"charts/demo", "charts/demo/values.yaml", true},
		{"charts/bar/*", "charts/bar/deployment.yaml", true},
		{"charts/bar/*", "charts/bar/templates/x.yaml", true}, // the parent directory matches
		{"charts/demo", "charts/demo-2", false},
		{"*/hello.txt", "app/hello.txt", true},
		{"charts/demo/", "charts/demo/a.yaml", true},
		{" charts/demo ", "charts/demo/a.yaml", true},
		{"./charts/demo", "charts/demo/a.yaml", true},
		{"!charts/demo", "charts/demo/a.yaml", false},
		{"", "anything", false},
		{"*.yaml", "apps/web/a.yaml", false},
		{"apps/*/kustomization.yaml", "apps/web/kustomization.yaml", true},
		{"{a,b}/x", "a/x", false}, // no brace alternation in PipeCD's syntax
	} {
		p, err := Compile(tc.pattern)
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.pattern, err)
			continue
		}
		if got := p.Match(tc.file); got != tc.want {
			t.Errorf("pattern %q file %q: match = %v, want %v", tc.pattern, tc.file, got, tc.want)
		}
	}
}

// The cases of Go's path.Match tests that PipeCD's matcher carries, with its
// results (which differ from path.Match where "*" meets "/").
func TestPatternPathMatchCases(t *testing.T) {
	for _, tc := range []struct {
		pattern, file string
		want          bool
		err           error
	}{
		{"abc", "abc", true, nil},
		{"*", "abc", true, nil},
		{"*c", "abc", true, nil},
		{"a*", "a", true, nil},
		{"a*", "abc", true, nil},
		{"a*", "ab/c", true, nil},
		{"a*/b", "abc/b", true, nil},
		{"a*/b", "a/c/b", false, nil},
		{"a*b*c*d*e*/f", "axbxcxdxe/f", true, nil},
		{"a*b*c*d*e*/f", "axbxcxdxexxx/f", true, nil},
		{"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, nil},
		{"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, nil},
		{"a*b?c*x", "abxbbxdbxebxczzx", true, nil},
		{"a*b?c*x", "abxbbxdbxebxczzy", false, nil},
		{"ab[c]", "abc", true, nil},
		{"ab[b-d]", "abc", true, nil},
		{"ab[e-g]", "abc", false, nil},
		{"ab[^c]", "abc", false, nil},
		{"ab[^b-d]", "abc", false, nil},
		{"ab[^e-g]", "abc", true, nil},
		{`a\*b`, "a*b", true, nil},
		{`a\*b`, "ab", false, nil},
		{"a?b", "a☺b", true, nil},
		{"a[^a]b", "a☺b", true, nil},
		{"a???b", "a☺b", false, nil},
		{"a[^a][^a][^a]b", "a☺b", false, nil},
		{"[a-ζ]*", "α", true, nil},
		{"*[a-ζ]", "A", false, nil},
		{"a?b", "a/b", false, nil},
		{"a*b", "a/b", false, nil},
		{`[\]a]`, "]", true, nil},
		{`[\-]`, "-", true, nil},
		{`[x\-]`, "x", true, nil},
		{`[x\-]`, "-", true, nil},
		{`[x\-]`, "z", false, nil},
		{`[\-x]`, "x", true, nil},
		{`[\-x]`, "-", true, nil},
		{`[\-x]`, "a", false, nil},
		{"[]a]", "]", false, path.ErrBadPattern},
		{"[-]", "-", false, path.ErrBadPattern},
		{"[x-]", "x", false, path.ErrBadPattern},
		{"[-x]", "x", false, path.ErrBadPattern},
		{`\`, "a", false, path.ErrBadPattern},
		{"[a-b-c]", "a", false, path.ErrBadPattern},
		{"[", "a", false, path.ErrBadPattern},
		{"[^", "a", false, path.ErrBadPattern},
		{"[^bc", "a", false, path.ErrBadPattern},
		{"a[", "a", false, path.ErrBadPattern},
		{"a[", "ab", false, path.ErrBadPattern},
		{"*x", "xxx", true, nil},
		{"+file", "+file", true, nil},
		{"a+b", "a+b", true, nil},
		{"a(b)", "a(b)", true, nil},
		{"a{b}", "a{b}", true, nil},
		{"a|b", "a|b", true, nil},
		{"^a", "^a", true, nil},
		{"[a^b]", "^", true, nil},
		{"[a^b]", "a", true, nil},
		{"[a^b]", "b", true, nil},
		{"[a^b]", "c", false, nil},
		{"dir+(1)/*", "dir+(1)/foo.txt", true, nil},
		{"+dir/+file.txt", "+dir/+file.txt", true, nil},
	} {
		p, err := Compile(tc.pattern)
		if !errors.Is(err, tc.err) {
			t.Errorf("Compile(%q) error = %v, want %v", tc.pattern, err, tc.err)
			continue
		}
		if err == nil && p.Match(tc.file) != tc.want {
			t.Errorf("pattern %q file %q: match = %v, want %v", tc.pattern, tc.file, !tc.want, tc.want)
		}
	}
	if _, err := Compile("!"); err == nil {
		t.Error(`Compile("!"): no error`)
	}
}
