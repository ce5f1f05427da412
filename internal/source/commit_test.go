package source

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMergeBase(t *testing.T) {
	t.Parallel()
	var h history
	c1 := h.commit("main", 0)
	c2 := h.commit("main", 0)
	f3 := h.commit("feature", c1)
	// criss-cross: each branch merges the other's tip
	m4 := h.commit("main", c2, f3)
	f5 := h.commit("feature", f3, c2)
	h.commit("main", m4)
	h.commit("feature", f5)
	h.commit("topic", m4)
	h.commit("topic", 0)
	h.commit("lonely", 0) // no parent: a second root
	dir := h.build(t, t.TempDir())
	r := openT(t, dir)

	for _, p := range [][2]string{{"main", "topic"}, {"topic", "main"}, {"main", "main"}, {"main", "main~1"},
		{"main~2", "topic"}, {"feature~1", "main~2"}} {
		want := strings.TrimSpace(runGit(t, dir, nil, "merge-base", p[0], p[1]))
		got, err := r.MergeBase(resolveT(t, r, p[0]), resolveT(t, r, p[1]))
		if err != nil || got.Hash != want {
			t.Errorf("MergeBase(%s, %s) = %v, %v; git says %s", p[0], p[1], got.Hash, err, want)
		}
	}
	// Criss-cross: two best common ancestors; git picks one of them.
	all := strings.Fields(runGit(t, dir, nil, "merge-base", "--all", "main", "feature"))
	got, err := r.MergeBase(resolveT(t, r, "main"), resolveT(t, r, "feature"))
	if err != nil || len(all) != 2 || !slices.Contains(all, got.Hash) {
		t.Errorf("criss-cross MergeBase = %v, %v; want one of %q", got.Hash, err, all)
	}
	if _, err := r.MergeBase(resolveT(t, r, "main"), resolveT(t, r, "lonely")); !errors.Is(err, ErrRevisionNotFound) ||
		!strings.Contains(err.Error(), "no common history") {
		t.Errorf("unrelated histories: %v", err)
	}
}

func TestMergeBaseShallow(t *testing.T) {
	t.Parallel()
	var h history
	c1 := h.commit("main", 0)
	for range 5 {
		h.commit("main", 0)
	}
	h.commit("feature", c1)
	src := h.build(t, filepath.Join(t.TempDir(), "src"))
	clone := filepath.Join(t.TempDir(), "clone")
	runGit(t, "", nil, "clone", "-q", "--depth", "2", "--no-single-branch", "file://"+src, clone)
	r := openT(t, clone)
	_, err := r.MergeBase(resolveT(t, r, "origin/main"), resolveT(t, r, "origin/feature"))
	var e *Error
	if !errors.Is(err, ErrMissingObject) || !errors.As(err, &e) || !strings.Contains(e.Hint, "fetch-depth: 0") {
		t.Errorf("MergeBase beyond a shallow boundary = %v; want ErrMissingObject with the fetch-depth hint", err)
	}
}

func TestCommitInfo(t *testing.T) {
	t.Parallel()
	src, _ := revisionRepo(t)
	r := openT(t, src)
	c, err := r.CommitInfo(resolveT(t, r, "HEAD"))
	if err != nil {
		t.Fatal(err)
	}
	out := runGit(t, src, nil, "show", "-s", "--format=%H%n%P%n%an%n%ae%n%at%n%cn%n%ce%n%ct%n%s", "HEAD")
	f := strings.Split(out, "\n")
	body := strings.TrimRight(runGit(t, src, nil, "show", "-s", "--format=%b", "HEAD"), "\n")
	if c.Hash != f[0] || strings.Join(c.Parents, " ") != f[1] ||
		c.Author.Name != f[2] || c.Author.Email != f[3] || c.Author.When.Unix() != atoi(t, f[4]) ||
		c.Committer.Name != f[5] || c.Committer.Email != f[6] || c.Committer.When.Unix() != atoi(t, f[7]) ||
		c.Subject != f[8] || c.Body != body {
		t.Errorf("CommitInfo = %+v\ngit: %q body %q", c, f, body)
	}
	if _, off := c.Author.When.Zone(); off != int(time.Hour/time.Second) {
		t.Errorf("author time zone offset %d, want +0100", off)
	}
}

func atoi(t *testing.T, s string) int64 {
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

func TestSplitMessage(t *testing.T) {
	for _, tc := range []struct{ msg, subject, body string }{
		{"fix: a\n", "fix: a", ""},
		{"fix: a\n\nwhy\nmore\n\n", "fix: a", "why\nmore"},
		{"\n\nline one\nline two\n\nbody", "line one line two", "body"},
		{"crlf\r\n\r\nbody\r\n", "crlf", "body"},
		{"", "", ""},
	} {
		s, b := splitMessage(tc.msg)
		if s != tc.subject || b != tc.body {
			t.Errorf("splitMessage(%q) = %q, %q; want %q, %q", tc.msg, s, b, tc.subject, tc.body)
		}
	}
}
