package state

import (
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func TestExpPush(t *testing.T) {
	r, err := git.PlainOpen("/tmp/exp/local.git")
	if err != nil { t.Fatal(err) }
	ref, _ := r.Reference("refs/notes/pipe/apps/app7", true)
	c, _ := r.CommitObject(ref.Hash())
	nc := &object.Commit{Author: c.Author, Committer: c.Committer, Message: "x", TreeHash: c.TreeHash, ParentHashes: []plumbing.Hash{c.Hash}}
	o := r.Storer.NewEncodedObject(); nc.Encode(o); h, _ := r.Storer.SetEncodedObject(o)
	r.Storer.SetReference(plumbing.NewHashReference("refs/pipe/tmp", h))
	rem, _ := r.CreateRemote(&config.RemoteConfig{Name: "x", URLs: []string{"file:///tmp/exp/remote.git"}})
	_ = rem
	start := time.Now()
	err = rem.Push(&git.PushOptions{RemoteName: "x", RefSpecs: []config.RefSpec{"+refs/pipe/tmp:refs/notes/pipe/apps/app7"},
		RequireRemoteRefs: []config.RefSpec{config.RefSpec(c.Hash.String() + ":refs/notes/pipe/apps/app7")}})
	t.Log(err, time.Since(start))
}
