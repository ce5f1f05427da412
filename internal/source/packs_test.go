package source

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestPacksMatchGoGit reads every commit, tree and tag of generated repos
// through the pack reader and through go-git's storage, which must agree;
// the repos hold packs with offset deltas, packs with reference deltas, and
// loose objects on top (read by go-git).
func TestPacksMatchGoGit(t *testing.T) {
	t.Parallel()
	src := newGen(60, 3, true).build(t, filepath.Join(t.TempDir(), "src"), 60)
	runGit(t, src, nil, "tag", "-a", "-m", "release", "v1", "HEAD~3")
	ofs := filepath.Join(t.TempDir(), "ofs")
	runGit(t, "", nil, "clone", "-q", "--no-local", src, ofs)
	ref := filepath.Join(t.TempDir(), "ref")
	runGit(t, "", nil, "clone", "-q", "--no-local", src, ref)
	runGit(t, ref, nil, "-c", "repack.useDeltaBaseOffset=false", "repack", "-q", "-a", "-d", "-f")
	// loose objects on top of the pack
	runGit(t, ref, nil, "-c", "user.name=x", "-c", "user.email=x@example.com", "commit", "-q", "--allow-empty", "-m", "loose")

	for _, dir := range []string{ofs, ref} {
		r := openT(t, dir)
		if r.packs == nil || len(r.packs.packs) == 0 {
			t.Fatalf("%s: no packs mapped", dir)
		}
		objs := strings.Split(runGit(t, dir, nil, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"), "\n")
		var checked int
		for _, line := range objs {
			o, typ, _ := strings.Cut(line, " ")
			if o == "" || typ == "blob" {
				continue
			}
			h := plumbing.NewHash(o)
			obj, err := r.st.EncodedObject(plumbing.AnyObject, h)
			if err != nil {
				t.Fatal(err)
			}
			rd, _ := obj.Reader()
			var want bytes.Buffer
			want.ReadFrom(rd)
			rd.Close()
			got, gotType, err := r.readObject(plumbing.AnyObject, h)
			if err != nil || gotType != obj.Type() || !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("%s: object %s: pack reader gave %v %d bytes (%v); go-git %v %d bytes",
					filepath.Base(dir), o, gotType, len(got), err, obj.Type(), want.Len())
			}
			checked++
		}
		if checked < 100 {
			t.Errorf("%s: only %d objects checked", dir, checked)
		}
		files, err := r.ChangedFiles(resolveT(t, r, "HEAD~50"), resolveT(t, r, "HEAD"))
		if want := gitNames(t, dir, "HEAD~50", "HEAD"); err != nil || !slices.Equal(files, want) {
			t.Errorf("%s: ChangedFiles differs from git (%v)", filepath.Base(dir), err)
		}
		if _, err := r.ResolveRevision("v1"); err != nil {
			t.Error(err)
		}
	}
}

func TestParseHeaderCorrupt(t *testing.T) {
	for _, data := range [][]byte{
		[]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01"),                 // offset at end
		[]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01\x80"),             // size continues past end
		[]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01\x60\xff"),         // ofs delta past end
		[]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01\x60\x7f"),         // ofs delta before the pack
		[]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01\x70\x01\x02"),     // ref delta past end
		[]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01\x50\x01\x02\x03"), // type 5 is reserved
	} {
		if _, err := parseHeader(data, 12); err == nil {
			t.Errorf("parseHeader(%q): no error", data)
		}
	}
}
