package state

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

const (
	fixtureApps       = 200
	fixtureRecords    = 100 // per app: 20,000 in all
	fixtureCommits    = 2000
	fixtureBenchApp   = "app-137"
	fixtureSuccessPct = 80
)

var (
	fixtureOnce sync.Once
	fixtureDir  string // a bare repository: main + 200 notes refs
	fixtureErr  error
	fixtureHash []string // main's commits
)

// benchFixture builds, once per test binary, a bare repository holding
// 2,000 commits on main and 20,000 deployment records of 200 apps (100 per
// app, each on its own commit, 80% SUCCEEDED, the rest FAILED or CANCELLED),
// written with go-git plumbing into memory and stored as one pack, as a
// clone's objects would be.
func benchFixture(b *testing.B) (string, []string) {
	fixtureOnce.Do(func() {
		start := time.Now()
		fixtureDir, fixtureHash, fixtureErr = buildFixture()
		b.Logf("fixture: 20,000 records of 200 apps built in %s", time.Since(start).Round(time.Millisecond))
	})
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return fixtureDir, fixtureHash
}

func buildFixture() (string, []string, error) {
	dir, err := os.MkdirTemp("", "pipe-state-bench-")
	if err != nil {
		return "", nil, err
	}
	bare := filepath.Join(dir, "repo.git")
	if _, err := gitserver.GitE(dir, "init", "--quiet", "--bare", "--initial-branch=main", bare); err != nil {
		return "", nil, err
	}
	mem := memory.NewStorage()
	rng := rand.New(rand.NewPCG(1, 2))
	sig := object.Signature{Name: "dev", Email: "dev@example.com", When: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	commits := make([]string, fixtureCommits)
	parent := plumbing.ZeroHash
	for i := range commits {
		blob, _ := storeBlob(mem, fmt.Appendf(nil, "version %d\n", i))
		tree, _ := storeObject(mem, &object.Tree{Entries: []object.TreeEntry{{Name: "app.yaml", Mode: filemode.Regular, Hash: blob}}})
		c := &object.Commit{Author: sig, Committer: sig, Message: fmt.Sprintf("change %d", i), TreeHash: tree}
		if !parent.IsZero() {
			c.ParentHashes = []plumbing.Hash{parent}
		}
		sig.When = sig.When.Add(time.Hour)
		h, err := storeObject(mem, c)
		if err != nil {
			return "", nil, err
		}
		commits[i], parent = h.String(), h
	}
	refs := map[plumbing.ReferenceName]plumbing.Hash{"refs/heads/main": parent}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for a := 0; a < fixtureApps; a++ {
		app := fmt.Sprintf("app-%d", a)
		notes := map[string]plumbing.Hash{}
		for _, ci := range rng.Perm(fixtureCommits)[:fixtureRecords] {
			r := newRecord(app, commits[ci])
			r.SchemaVersion, r.Revision = 1, 3
			r.CreatedAt = base.Add(time.Duration(ci)*time.Hour + time.Duration(a)*time.Second)
			r.UpdatedAt, r.StartedAt, r.EndedAt = r.CreatedAt.Add(5*time.Minute), r.CreatedAt, r.CreatedAt.Add(5*time.Minute)
			r.ID = NewID(r.CreatedAt)
			switch p := rng.IntN(100); {
			case p < fixtureSuccessPct:
				r.Status = StatusSucceeded
			case p < 95:
				r.Status, r.Reason = StatusFailed, "analysis failed"
			default:
				r.Status, r.Reason = StatusCancelled, "cancelled"
			}
			for i := range r.Stages {
				r.Stages[i].Status = StageSucceeded
				r.Stages[i].Metadata = map[string]string{"traffic": "100", "resources": "deployment/web-canary"}
			}
			line, _ := json.Marshal(r)
			blob, err := storeBlob(mem, append(line, '\n'))
			if err != nil {
				return "", nil, err
			}
			notes[commits[ci]] = blob
		}
		tree, err := writeNotesTree(mem, notes, nil)
		if err != nil {
			return "", nil, err
		}
		c, err := storeObject(mem, &object.Commit{Author: sig, Committer: sig, Message: "pipe: records of " + app, TreeHash: tree})
		if err != nil {
			return "", nil, err
		}
		ref, _ := AppNotesRef(DefaultNotesRef, app)
		refs[ref] = c
	}
	// One pack, as a fetch would leave it.
	repo, err := git.PlainOpen(bare)
	if err != nil {
		return "", nil, err
	}
	var all []plumbing.Hash
	iter, _ := mem.IterEncodedObjects(plumbing.AnyObject)
	_ = iter.ForEach(func(o plumbing.EncodedObject) error { all = append(all, o.Hash()); return nil })
	pw, err := repo.Storer.(storer.PackfileWriter).PackfileWriter()
	if err != nil {
		return "", nil, err
	}
	if _, err := packfile.NewEncoder(pw, mem, false).Encode(all, 10); err != nil {
		return "", nil, err
	}
	if err := pw.Close(); err != nil {
		return "", nil, err
	}
	for name, h := range refs {
		if err := repo.Storer.SetReference(plumbing.NewHashReference(name, h)); err != nil {
			return "", nil, err
		}
	}
	return bare, commits, nil
}

// BenchmarkLastSuccessful: the last successful deployment of one app among
// 20,000 records of 200 apps. "cold" is what one CLI run pays (open the
// repository, read, close); "warm" reuses the open store (object cache hot).
func BenchmarkLastSuccessful(b *testing.B) {
	bare, _ := benchFixture(b)
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(bare, Options{Offline: true, Now: time.Now})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.LastSuccessful(bg, fixtureBenchApp); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	b.Run("warm", func(b *testing.B) {
		s, err := Open(bare, Options{Offline: true, Now: time.Now})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for b.Loop() {
			if _, err := s.LastSuccessful(bg, fixtureBenchApp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cold+fetch-http", func(b *testing.B) {
		// A CI clone that fetches from the smart-HTTP remote first (the
		// notes are already there: the fetch is the advertisement only).
		srv := gitserver.StartHTTP(b, filepath.Dir(bare), gitserver.HTTPOptions{Token: testToken})
		work := filepath.Join(b.TempDir(), "work")
		gitserver.Git(b, "", "clone", "--quiet", "--no-checkout", srv.AuthURL("repo.git", testToken), work)
		opts := Options{RemoteURL: srv.RepoURL("repo.git"), Credentials: Credentials{Token: testToken}, Now: time.Now}
		for b.Loop() {
			s, err := Open(work, opts)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.LastSuccessful(bg, fixtureBenchApp); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
}

// BenchmarkHistory50: `pipe history APP --limit 50` on the same repository.
func BenchmarkHistory50(b *testing.B) {
	bare, _ := benchFixture(b)
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(bare, Options{Offline: true, Now: time.Now})
			if err != nil {
				b.Fatal(err)
			}
			h, err := s.History(bg, fixtureBenchApp, 50)
			if err != nil || len(h) != 50 {
				b.Fatal(len(h), err)
			}
			s.Close()
		}
	})
	b.Run("warm", func(b *testing.B) {
		s, _ := Open(bare, Options{Offline: true, Now: time.Now})
		defer s.Close()
		for b.Loop() {
			if _, err := s.History(bg, fixtureBenchApp, 50); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAppendAndPush: append one record to an app's notes and push it to
// a local smart-HTTP remote holding the 20,000-record fixture, with pipe and
// with `git notes append` + `git push` of the same JSON line, side by side.
// "pipe" reuses an open store (a sync run checkpointing); "pipe-cold" opens
// the repository, fetches the app's ref and pushes, as one CLI run would.
func BenchmarkAppendAndPush(b *testing.B) {
	bare, commits := benchFixture(b)
	root := b.TempDir()
	if out, err := exec.Command("cp", "-a", bare, filepath.Join(root, "repo.git")).CombinedOutput(); err != nil {
		b.Fatal(err, string(out))
	}
	srv := gitserver.StartHTTP(b, root, gitserver.HTTPOptions{Token: testToken})
	clone := func() string {
		dir := filepath.Join(b.TempDir(), "work")
		gitserver.Git(b, "", "clone", "--quiet", "--no-checkout", srv.AuthURL("repo.git", testToken), dir)
		gitserver.Git(b, dir, "fetch", "--quiet", "origin", "refs/notes/pipe/*:refs/notes/pipe/*")
		gitserver.Git(b, dir, "remote", "set-url", "origin", srv.RepoURL("repo.git"))
		return dir
	}
	opts := Options{Credentials: Credentials{Token: testToken}, Now: time.Now}
	record := func(app string, i int) *Record {
		return newRecord(app, commits[i%len(commits)])
	}
	perOp := map[string]time.Duration{}
	b.Run("pipe", func(b *testing.B) {
		s, err := Open(clone(), opts)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		i := 0
		for b.Loop() {
			if err := s.Begin(bg, record("bench-pipe", i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
		perOp["pipe"] = b.Elapsed() / time.Duration(b.N)
	})
	b.Run("pipe-cold", func(b *testing.B) {
		dir := clone()
		i := 0
		for b.Loop() {
			s, err := Open(dir, opts)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Begin(bg, record("bench-pipe-cold", i)); err != nil {
				b.Fatal(err)
			}
			s.Close()
			i++
		}
		perOp["pipe-cold"] = b.Elapsed() / time.Duration(b.N)
	})
	b.Run("git", func(b *testing.B) {
		dir := clone()
		push := srv.AuthURL("repo.git", testToken)
		now := time.Now()
		i := 0
		for b.Loop() {
			r := record("bench-git", i)
			r.SchemaVersion, r.Revision, r.ID, r.CreatedAt, r.UpdatedAt = 1, 1, NewID(now), now, now
			line, _ := json.Marshal(r)
			gitserver.Git(b, dir, "notes", "--ref=pipe/apps/bench-git", "append", "-m", string(line), r.Target.Hash)
			gitserver.Git(b, dir, "push", "--quiet", push, "refs/notes/pipe/apps/bench-git")
			i++
		}
		g := b.Elapsed() / time.Duration(b.N)
		// The ratios to git, reported on this line of the output.
		b.ReportMetric(float64(perOp["pipe"])/float64(g), "pipe/git")
		b.ReportMetric(float64(perOp["pipe-cold"])/float64(g), "pipe-cold/git")
	})
}
