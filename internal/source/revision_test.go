package source

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// history writes a fast-import stream of commits on branches, each at its
// own minute so that commit dates order the history as git expects.
type history struct {
	buf bytes.Buffer
	n   int
}

// commit adds a commit to branch with parents from (0: none, or continue the
// branch) and merges, and returns its mark.
func (h *history) commit(branch string, from int, merges ...int) int {
	h.n++
	fmt.Fprintf(&h.buf, "commit refs/heads/%s\nmark :%d\n", branch, h.n)
	fmt.Fprintf(&h.buf, "author A U Thor <author@example.com> %d +0100\n", 1700000000+h.n*60)
	fmt.Fprintf(&h.buf, "committer C O Mitter <committer@example.com> %d +0000\n", 1700000000+h.n*60)
	msg := fmt.Sprintf("commit %d on %s\n\nbody line 1\nbody line 2\n", h.n, branch)
	fmt.Fprintf(&h.buf, "data %d\n%s", len(msg), msg)
	if from > 0 {
		fmt.Fprintf(&h.buf, "from :%d\n", from)
	}
	for _, m := range merges {
		fmt.Fprintf(&h.buf, "merge :%d\n", m)
	}
	fmt.Fprintf(&h.buf, "M 100644 inline f-%d\ndata 2\n%d\n\n", h.n, h.n%10)
	return h.n
}

func (h *history) tag(name string, mark int) {
	fmt.Fprintf(&h.buf, "tag %s\nfrom :%d\ntagger T <t@example.com> 1700000000 +0000\ndata 4\nrel\n\n", name, mark)
}

func (h *history) build(tb testing.TB, dir string) string {
	tb.Helper()
	runGit(tb, "", nil, "init", "-q", "-b", "main", dir)
	runGit(tb, dir, h.buf.Bytes(), "fast-import", "--quiet")
	runGit(tb, dir, nil, "checkout", "-q", "main")
	return dir
}

// revisionRepo: main 1-2-3-4-5-(8 merges 7), feature 3-6-7, tag v1 (annotated) on 4,
// lightweight tag light on 2, and a clone with origin/*.
func revisionRepo(tb testing.TB) (src, clone string) {
	var h history
	c1 := h.commit("main", 0)
	h.commit("main", 0)
	c3 := h.commit("main", 0)
	c4 := h.commit("main", 0)
	c5 := h.commit("main", 0)
	f6 := h.commit("feature", c3)
	f7 := h.commit("feature", f6)
	h.commit("main", c5, f7)
	h.tag("v1", c4)
	_ = c1
	src = h.build(tb, filepath.Join(tb.TempDir(), "src"))
	runGit(tb, src, nil, "tag", "light", "HEAD~3")
	clone = filepath.Join(tb.TempDir(), "clone")
	runGit(tb, "", nil, "clone", "-q", "--no-local", src, clone)
	return src, clone
}

func TestResolveRevision(t *testing.T) {
	t.Parallel()
	src, clone := revisionRepo(t)
	r := openT(t, clone)
	for _, rev := range []string{"HEAD", "@", "main", "origin/main", "origin/feature", "refs/remotes/origin/feature",
		"v1", "tags/v1", "refs/tags/v1", "light", "HEAD~3", "HEAD~", "HEAD^", "HEAD^2", "HEAD^2~1", "HEAD^^",
		"HEAD~2^{commit}", "main^0", "v1^{}", "origin/feature~2", "HEAD~5"} {
		want := strings.TrimSpace(runGit(t, clone, nil, "rev-parse", "--verify", rev+"^{commit}"))
		got, err := r.ResolveRevision(rev)
		if err != nil {
			t.Errorf("ResolveRevision(%q): %v", rev, err)
			continue
		}
		if got.Hash != want || got.Name != rev {
			t.Errorf("ResolveRevision(%q) = %+v, git says %s", rev, got, want)
		}
	}
	// Hashes, full and abbreviated, in either case.
	head := strings.TrimSpace(runGit(t, src, nil, "rev-parse", "HEAD~2"))
	for _, rev := range []string{head, head[:7], head[:5], strings.ToUpper(head[:10])} {
		if got, err := r.ResolveRevision(rev); err != nil || got.Hash != head {
			t.Errorf("ResolveRevision(%q) = %+v, %v; want %s", rev, got, err, head)
		}
	}
	if s := (Revision{Name: "origin/main", Hash: head}).String(); s != "origin/main ("+head[:7]+")" {
		t.Errorf("String() = %q", s)
	}
}

func TestResolveRevisionErrors(t *testing.T) {
	t.Parallel()
	src, clone := revisionRepo(t)
	r := openT(t, clone)
	tree := strings.TrimSpace(runGit(t, src, nil, "rev-parse", "HEAD^{tree}"))
	for _, tc := range []struct {
		rev, msg string
		err      error
	}{
		{"nope", "no branch, tag or commit named nope", ErrRevisionNotFound},
		{"origin/nope", "no branch, tag or commit named origin/nope", ErrRevisionNotFound},
		{"HEAD~6", "HEAD~5 (", ErrRevisionNotFound},
		{"HEAD~999999999", "HEAD~5 (", ErrRevisionNotFound},
		{"HEAD^3", "has 2 parents, not 3", ErrRevisionNotFound},
		{"deadbeef", "no commit with a hash starting deadbeef", ErrRevisionNotFound},
		{strings.Repeat("ab", 20), "is not in this clone", ErrMissingObject},
		{tree, "names a tree, not a commit", ErrInvalidRevision},
		{"", "empty revision", ErrInvalidRevision},
		{"HEAD@{1}", "unsupported revision syntax", ErrInvalidRevision},
		{"main..feature", "unsupported revision syntax", ErrInvalidRevision},
		{"~2", "missing branch", ErrInvalidRevision},
		{"HEAD^{tree}", "^{tree} is not supported", ErrInvalidRevision},
	} {
		_, err := r.ResolveRevision(tc.rev)
		if err == nil {
			t.Errorf("ResolveRevision(%q): no error", tc.rev)
			continue
		}
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.msg) ||
			!strings.HasPrefix(err.Error(), fmt.Sprintf("revision %q: ", tc.rev)) {
			t.Errorf("ResolveRevision(%q) = %v; want %v containing %q", tc.rev, err, tc.err, tc.msg)
		}
	}
	var e *Error
	if _, err := r.ResolveRevision("origin/nope"); !errors.As(err, &e) || !strings.Contains(e.Hint, "fetch-depth: 0") {
		t.Errorf("missing revision: hint %q does not say how to fetch the history", e.Hint)
	}
}

func TestResolveRevisionShallow(t *testing.T) {
	t.Parallel()
	src, _ := revisionRepo(t)
	shallow := filepath.Join(t.TempDir(), "shallow")
	runGit(t, "", nil, "clone", "-q", "--depth", "2", "--single-branch", "file://"+src, shallow)
	r := openT(t, shallow)
	if !r.Shallow() {
		t.Fatal("Shallow() = false for a --depth clone")
	}
	if _, err := r.ResolveRevision("HEAD~1"); err != nil {
		t.Fatal(err)
	}
	for _, rev := range []string{"HEAD~3", "origin/feature", "HEAD^2~2"} {
		_, err := r.ResolveRevision(rev)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Hint, "shallow") || !strings.Contains(e.Hint, "GIT_DEPTH: 0") ||
			!strings.Contains(err.Error(), rev) {
			t.Errorf("ResolveRevision(%q) = %v (hint %q); want an error naming it with the shallow hint", rev, err, e.Hint)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	src, _ := revisionRepo(t)
	sub := filepath.Join(src, "deep", "er")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	r := openT(t, sub)
	if r.Root() != src {
		t.Errorf("Root() = %q, want %q", r.Root(), src)
	}

	wt := filepath.Join(t.TempDir(), "wt")
	runGit(t, src, nil, "worktree", "add", "-q", wt, "feature")
	w := openT(t, wt)
	if w.Root() != wt {
		t.Errorf("worktree Root() = %q, want %q", w.Root(), wt)
	}
	want := strings.TrimSpace(runGit(t, src, nil, "rev-parse", "feature"))
	if got := resolveT(t, w, "HEAD"); got.Hash != want {
		t.Errorf("worktree HEAD = %s, want %s", got.Hash, want)
	}

	_, err := Open(t.TempDir())
	var e *Error
	if !errors.Is(err, ErrNotRepository) || !errors.As(err, &e) || !strings.Contains(e.Hint, "--repo") ||
		!strings.Contains(err.Error(), "not inside a git repository") {
		t.Errorf("Open(non-repo) = %v; want ErrNotRepository with a --repo hint", err)
	}
}
