package source

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

func openT(tb testing.TB, dir string) *Repo {
	tb.Helper()
	r, err := Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

func resolveT(tb testing.TB, r *Repo, rev string) Revision {
	tb.Helper()
	v, err := r.ResolveRevision(rev)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// TestChangedFilesMatchesGit compares ChangedFiles with git diff --name-only
// on a generated monorepo whose history renames, deletes, chmods, nests,
// turns files into directories and back, and has symlinks and submodules.
func TestChangedFilesMatchesGit(t *testing.T) {
	t.Parallel()
	dir := newGen(200, 7, true).build(t, t.TempDir(), 100)
	r := openT(t, dir)

	pairs := [][2]string{{"HEAD~100", "HEAD"}, {"HEAD", "HEAD~100"}, {"HEAD~1", "HEAD"}, {"HEAD", "HEAD"}}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		pairs = append(pairs, [2]string{fmt.Sprintf("HEAD~%d", rnd.IntN(101)), fmt.Sprintf("HEAD~%d", rnd.IntN(101))})
	}
	for _, p := range pairs {
		want := gitNames(t, dir, p[0], p[1])
		got, err := r.ChangedFiles(resolveT(t, r, p[0]), resolveT(t, r, p[1]))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ChangedFiles(%s, %s): got %d files, git %d\n got: %q\ngit: %q", p[0], p[1], len(got), len(want), got, want)
		}
	}

	// Without trigger settings an application is touched exactly when git
	// lists a file under its directory.
	var apps []*config.App
	for i := range 200 {
		apps = append(apps, testApp(appDir(i)))
	}
	want := map[string]int{}
	for _, f := range gitNames(t, dir, "HEAD~100", "HEAD") {
		if strings.HasPrefix(f, "apps/") {
			want[strings.Join(strings.SplitN(f, "/", 3)[:2], "/")]++
		}
	}
	files, _ := r.ChangedFiles(resolveT(t, r, "HEAD~100"), resolveT(t, r, "HEAD"))
	changes, err := ChangedApps(apps, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if c.Rule != RuleAppDir || want[c.App.Dir] != c.Count {
			t.Errorf("%s: %s with %d files; git lists %d", c.App.Dir, c.Rule, c.Count, want[c.App.Dir])
		}
		delete(want, c.App.Dir)
	}
	if len(want) > 0 || len(changes) < 50 {
		t.Errorf("%d changed apps; missed %v", len(changes), want)
	}
}

// TestChangedFilesEdges checks each kind of change on its own.
func TestChangedFilesEdges(t *testing.T) {
	t.Parallel()
	stream := `commit refs/heads/main
mark :1
committer C <c@example.com> 1700000000 +0000
data 4
base
M 100644 inline keep.txt
data 5
keep
M 100644 inline mod.txt
data 2
a
M 100644 inline del.txt
data 2
d
M 100644 inline old/name.txt
data 7
rename
M 100644 inline exec.sh
data 3
sh
M 100644 inline becomes-dir
data 2
f
M 100644 inline was-dir/x
data 2
x
M 100644 inline deep/a/b/c/d.yaml
data 2
d
M 100644 inline deep/a/b/c/same.yaml
data 2
s
M 120000 inline link
data 6
target
M 160000 1111111111111111111111111111111111111111 sub
M 100644 inline a-b
data 2
1
M 100644 inline a/b
data 2
2
M 100644 inline a.b
data 2
3

commit refs/heads/main
mark :2
committer C <c@example.com> 1700000060 +0000
data 7
changes
from :1
M 100644 inline mod.txt
data 2
b
D del.txt
D old/name.txt
M 100644 inline new/name.txt
data 7
rename
M 100755 inline exec.sh
data 3
sh
D becomes-dir
M 100644 inline becomes-dir/inside
data 2
f
D was-dir
M 100644 inline was-dir
data 2
x
M 100644 inline deep/a/b/c/d.yaml
data 3
d2
M 120000 inline link
data 7
target2
M 160000 2222222222222222222222222222222222222222 sub
M 100644 inline added/ü ñ.txt
data 2
u
M 100644 inline a/b
data 2
9

`
	dir := t.TempDir()
	runGit(t, "", nil, "init", "-q", "-b", "main", dir)
	runGit(t, dir, []byte(stream), "fast-import", "--quiet")
	r := openT(t, dir)
	base, head := resolveT(t, r, "HEAD~1"), resolveT(t, r, "HEAD")
	got, err := r.ChangedFiles(base, head)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a/b", "added/ü ñ.txt", "becomes-dir", "becomes-dir/inside", "deep/a/b/c/d.yaml", "del.txt",
		"exec.sh", "link", "mod.txt", "new/name.txt", "old/name.txt", "sub", "was-dir", "was-dir/x"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if g := gitNames(t, dir, "HEAD~1", "HEAD"); !slices.Equal(g, want) {
		t.Errorf("git disagrees with the expectation: %q", g)
	}
	same, err := r.ChangedFiles(head, head)
	if err != nil || len(same) != 0 {
		t.Errorf("ChangedFiles(head, head) = %q, %v; want nothing", same, err)
	}
}
