package render

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TestGitFetchUntrusted: on a pull request's plan a commit is fetched
// alone or not at all: an abbreviated hash the cache lacks, or a commit
// the server does not send by hash, fails asking for a full hash, a tag or
// a branch, without fetching the repository's branches and tags.
func TestGitFetchUntrusted(t *testing.T) {
	remotes := t.TempDir()
	bare, first := chartsRemote(t, remotes)
	next := strings.TrimSpace(gitserver.Git(t, bare, "rev-parse", "next"))
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	remote := srv.RepoURL("charts.git")
	f := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: t.TempDir(), Untrusted: true}
	holds := func(commit string) bool {
		repo, err := git.PlainOpen(f.cachedRepo(remote))
		return err == nil && hasCommit(repo, plumbing.NewHash(commit))
	}

	wantErr(t, fetchErr(t, f, remote, next[:10]), `ref "`+next[:10]+`": no such tag or branch in `+remote+", and no commit known here starts with it",
		"on a pull request's plan pipe does not fetch every branch and tag", "give the full commit hash (40 hex digits), a tag or a branch")
	// git http-backend does not send a commit by hash unless configured to.
	wantErr(t, fetchErr(t, f, remote, next), "commit "+next+": "+remote+" did not send it",
		"on a pull request's plan pipe does not fetch every branch and tag", "uploadpack.allowReachableSHA1InWant")
	if holds(next) || holds(first) {
		t.Fatal("the cache fetched commits it was not asked for")
	}
	// Tags and branches are fetched alone, as always.
	if got := fetchReplicas(t, f, remote, "v1"); got != "2" {
		t.Errorf("v1: replicaCount %s", got)
	}
	// A commit the server sends by hash: fetched alone, and then known by
	// its abbreviation too.
	gitserver.Git(t, bare, "config", "uploadpack.allowReachableSHA1InWant", "true")
	if got := fetchReplicas(t, f, remote, next); got != "9" {
		t.Errorf("next's commit: replicaCount %s", got)
	}
	if !isShallow(t, f.cachedRepo(remote)) {
		t.Error("a commit fetched by hash is fetched shallow")
	}
	if got := fetchReplicas(t, f, remote, next[:8]); got != "9" {
		t.Errorf("next's abbreviated commit: replicaCount %s", got)
	}
	main := strings.TrimSpace(gitserver.Git(t, bare, "rev-parse", "main"))
	if holds(main) {
		t.Error("the cache holds main's commit, which nothing asked for")
	}

	// Trusted, the abbreviation is found by fetching everything.
	trusted := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: t.TempDir()}
	if got := fetchReplicas(t, trusted, remote, main[:10]); got != "7" {
		t.Errorf("trusted, main's abbreviated commit: replicaCount %s", got)
	}
}

// TestGitFetchHexLookingRefs: a tag or branch whose name looks like a
// hash is looked up on the remote like any other name, so that moving it
// is seen; offline, the cache answers.
func TestGitFetchHexLookingRefs(t *testing.T) {
	remotes := t.TempDir()
	bare, first := chartsRemote(t, remotes)
	next := strings.TrimSpace(gitserver.Git(t, bare, "rev-parse", "next"))
	main := strings.TrimSpace(gitserver.Git(t, bare, "rev-parse", "main"))
	gitserver.Git(t, bare, "tag", "20240101", first)
	gitserver.Git(t, bare, "branch", "deadbeef", first)
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	remote := srv.RepoURL("charts.git")
	cache := t.TempDir()
	for _, untrusted := range []bool{false, true} {
		f := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache, Untrusted: untrusted}
		gitserver.Git(t, bare, "tag", "-f", "20240101", first)
		gitserver.Git(t, bare, "branch", "-f", "deadbeef", first)
		for _, ref := range []string{"20240101", "deadbeef"} {
			if got := fetchReplicas(t, f, remote, ref); got != "2" {
				t.Errorf("%s: replicaCount %s, want 2", ref, got)
			}
		}
		gitserver.Git(t, bare, "tag", "-f", "20240101", next)
		gitserver.Git(t, bare, "branch", "-f", "deadbeef", main)
		f = &GoGitFetcher{TempDir: f.TempDir, CacheDir: cache, Untrusted: untrusted} // the next run
		if got := fetchReplicas(t, f, remote, "20240101"); got != "9" {
			t.Errorf("untrusted %v: the moved tag 20240101: replicaCount %s, want 9", untrusted, got)
		}
		if got := fetchReplicas(t, f, remote, "deadbeef"); got != "7" {
			t.Errorf("untrusted %v: the moved branch deadbeef: replicaCount %s, want 7", untrusted, got)
		}
	}
	off := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache, Offline: true}
	if got := fetchReplicas(t, off, remote, "20240101"); got != "9" {
		t.Errorf("offline 20240101: replicaCount %s, want the cached 9", got)
	}
	// A deleted branch is not served from the cache.
	gitserver.Git(t, bare, "branch", "-D", "deadbeef")
	wantErr(t, fetchErr(t, &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache, Untrusted: true}, remote, "deadbeef"),
		`ref "deadbeef": no such tag or branch in `+remote)
}

// collidingCommits writes to the bare repository dir two commits (of the
// empty tree, no parents) whose hashes share their first 7 hex digits,
// each on a branch, and returns them.
func collidingCommits(t *testing.T, dir string) (a, b plumbing.Hash) {
	t.Helper()
	repo, err := git.PlainInit(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	store := func(o interface {
		Encode(plumbing.EncodedObject) error
	}) plumbing.Hash {
		obj := repo.Storer.NewEncodedObject()
		if err := o.Encode(obj); err != nil {
			t.Fatal(err)
		}
		h, err := repo.Storer.SetEncodedObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	tree := store(&object.Tree{})
	sig := object.Signature{Name: "test", Email: "test@example.com", When: time.Unix(1700000000, 0).UTC()}
	commit := func(i int) *object.Commit {
		return &object.Commit{Author: sig, Committer: sig, Message: fmt.Sprintf("commit %d\n", i), TreeHash: tree}
	}
	seen := map[string]int{}
	for i := 0; i < 1<<22; i++ {
		obj := repo.Storer.NewEncodedObject()
		if err := commit(i).Encode(obj); err != nil {
			t.Fatal(err)
		}
		p := obj.Hash().String()[:7]
		if j, ok := seen[p]; ok {
			a, b = store(commit(j)), store(commit(i))
			for n, h := range map[string]plumbing.Hash{"one": a, "two": b} {
				if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(n), h)); err != nil {
					t.Fatal(err)
				}
			}
			return a, b
		}
		seen[p] = i
	}
	t.Fatal("no two commits share 7 hex digits")
	return
}

// TestGitFetchAmbiguousAbbreviation: an abbreviated hash two commits
// share is an error listing them, whether read in place, from the cache
// offline, or after fetching; one hex digit more resolves it.
func TestGitFetchAmbiguousAbbreviation(t *testing.T) {
	remotes := t.TempDir()
	a, b := collidingCommits(t, filepath.Join(remotes, "amb.git"))
	prefix := a.String()[:7]
	longer := a.String()
	for i := range longer {
		if longer[i] != b.String()[i] {
			longer = longer[:max(i+1, 7)]
			break
		}
	}
	ambiguous := []string{"abbreviated commit hash " + prefix + " is ambiguous: 2 commits start with it", a.String(), b.String(), "give the full commit hash"}

	// Read in place.
	local := &GoGitFetcher{TempDir: t.TempDir()}
	wantErr(t, fetchErr(t, local, filepath.Join(remotes, "amb.git"), prefix), ambiguous...)
	dir, cleanup, err := local.Fetch(t.Context(), filepath.Join(remotes, "amb.git"), longer, "")
	if err != nil {
		t.Fatalf("%s: %v", longer, err)
	}
	cleanup()
	_ = dir

	// Fetched (everything: the server does not send commits by hash),
	// then from the cache offline.
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	remote := srv.RepoURL("amb.git")
	cache := t.TempDir()
	wantErr(t, fetchErr(t, &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache}, remote, prefix), append([]string{`ref "` + prefix + `" in ` + remote}, ambiguous...)...)
	off := &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache, Offline: true}
	wantErr(t, fetchErr(t, off, remote, prefix), append([]string{`ref "` + prefix + `" in the download cache of ` + remote}, ambiguous...)...)
	for _, f := range []*GoGitFetcher{off, {TempDir: t.TempDir(), CacheDir: cache}, {TempDir: t.TempDir(), CacheDir: cache, Untrusted: true}} {
		dir, cleanup, err := f.Fetch(t.Context(), remote, longer, "")
		if err != nil {
			t.Fatalf("%s: %v", longer, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("the empty tree wrote %v", entries)
		}
		cleanup()
	}
	// Online, an ambiguous abbreviation the cache holds is an error too.
	wantErr(t, fetchErr(t, &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache, Untrusted: true}, remote, prefix),
		append([]string{`ref "` + prefix + `": no such tag or branch in ` + remote + ", and the abbreviated"}, ambiguous...)...)
}
