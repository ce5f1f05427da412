package state

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Branch writes are how the event watcher updates the GitOps repository:
// it reads files at the remote branch's tip, commits the edited files on top
// of it with the plumbing (the working tree and the checked-out branch are
// never touched) and pushes the commit by compare-and-swap, so that a
// branch that moved meanwhile is detected and the edit redone on top.

// ErrBranchMoved: the remote branch was not at the commit expected.
var ErrBranchMoved = errors.New("the remote branch moved")

// ErrFileNotFound: no such file at that commit.
var ErrFileNotFound = errors.New("no such file")

// BranchTip is a branch of the remote and the commit it points at (zero
// when the branch does not exist).
type BranchTip struct {
	Name string
	Hash plumbing.Hash
}

// FetchBranch fetches a branch of the remote (name "": the remote's
// default branch, its HEAD) and returns its tip. Offline, it reads the
// local branch (name "": the checked-out one).
func (s *GitStore) FetchBranch(ctx context.Context, name string) (BranchTip, error) {
	if !s.online() {
		return s.localBranch(name)
	}
	if name == "" {
		var err error
		if name, err = s.remoteDefaultBranch(ctx); err != nil {
			return BranchTip{}, err
		}
	}
	ref := plumbing.NewBranchReferenceName(name)
	remote, err := s.fetch(ctx, func(n plumbing.ReferenceName) bool { return n == ref })
	if err != nil {
		return BranchTip{}, err
	}
	tip := remote[ref]
	if tip.IsZero() {
		return BranchTip{}, &Error{Op: "fetch branch " + name, Err: ErrNotFound, Msg: fmt.Sprintf("the remote %s has no branch %q", s.opts.Remote, name),
			Hint: "check the branch name (git ls-remote --heads " + s.opts.Remote + ")"}
	}
	return BranchTip{Name: name, Hash: tip}, nil
}

// RemoteBranch returns the remote value of a branch, zero if it does not
// exist (no objects are fetched).
func (s *GitStore) RemoteBranch(ctx context.Context, name string) (plumbing.Hash, error) {
	if !s.online() {
		return s.ref(plumbing.NewBranchReferenceName(name)), nil
	}
	h, err := s.lsRemote(ctx, plumbing.NewBranchReferenceName(name))
	if err != nil {
		return plumbing.ZeroHash, s.remoteError("read", err)
	}
	return h, nil
}

// remoteDefaultBranch is the branch the remote's HEAD points at (else the
// checked-out branch, when the remote has it).
func (s *GitStore) remoteDefaultBranch(ctx context.Context) (string, error) {
	c, ep, auth, err := s.endpoint()
	if err != nil {
		return "", err
	}
	sess, err := c.NewUploadPackSession(ep, auth)
	if err != nil {
		return "", s.remoteError("read", err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return "", &Error{Op: "read " + s.opts.Remote, Msg: "the remote repository is empty", Hint: "push a first commit"}
	}
	if err != nil {
		return "", s.remoteError("read", err)
	}
	for _, v := range ar.Capabilities.Get(capability.SymRef) {
		if from, to, ok := strings.Cut(v, ":"); ok && from == "HEAD" && strings.HasPrefix(to, "refs/heads/") {
			return strings.TrimPrefix(to, "refs/heads/"), nil
		}
	}
	if ar.Head != nil {
		for name, h := range ar.References {
			if h == *ar.Head && strings.HasPrefix(name, "refs/heads/") {
				return strings.TrimPrefix(name, "refs/heads/"), nil
			}
		}
	}
	// A bare repository whose HEAD names a branch it does not have: the
	// checked-out branch, if the remote has it.
	if local, err := s.localBranch(""); err == nil {
		if _, ok := ar.References[plumbing.NewBranchReferenceName(local.Name).String()]; ok {
			return local.Name, nil
		}
	}
	return "", &Error{Op: "read " + s.opts.Remote, Msg: "the remote's HEAD names no branch it has",
		Hint: "name the branch with --branch"}
}

// localBranch is the local branch (name "": the checked-out one).
func (s *GitStore) localBranch(name string) (BranchTip, error) {
	if name == "" {
		head, err := s.st.Reference(plumbing.HEAD)
		if err != nil || head.Type() != plumbing.SymbolicReference || !head.Target().IsBranch() {
			return BranchTip{}, &Error{Op: "read HEAD", Msg: "HEAD is not on a branch", Hint: "check out a branch or name it with --branch"}
		}
		name = head.Target().Short()
	}
	h := s.ref(plumbing.NewBranchReferenceName(name))
	if h.IsZero() {
		return BranchTip{}, &Error{Op: "read branch " + name, Err: ErrNotFound, Msg: fmt.Sprintf("there is no branch %q", name)}
	}
	return BranchTip{Name: name, Hash: h}, nil
}

// ReadFile returns the content of the regular file at path (slash
// separated, relative to the root) in commit's tree. A missing file is
// ErrFileNotFound; a symbolic link, directory or submodule is an error.
func (s *GitStore) ReadFile(commit plumbing.Hash, file string) ([]byte, error) {
	objs := s.objects()
	c, err := object.GetCommit(objs, commit)
	if err != nil {
		return nil, &Error{Op: "read " + file, Err: err}
	}
	t, err := object.GetTree(objs, c.TreeHash)
	if err != nil {
		return nil, &Error{Op: "read " + file, Err: err}
	}
	e, err := t.FindEntry(file)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, fmt.Errorf("%s at %s: %w", file, short(commit), ErrFileNotFound)
	}
	if err != nil {
		return nil, &Error{Op: "read " + file, Err: err}
	}
	if !e.Mode.IsFile() || e.Mode == filemode.Symlink {
		return nil, &Error{Op: "read " + file, Msg: fmt.Sprintf("it is a %s, not a regular file", modeName(e.Mode)),
			Hint: "point the replacement at the file itself"}
	}
	return readBlob(objs, e.Hash, maxEditedFile)
}

// SameChange reports whether commits a and b (both readable here) have the
// same tree and the same first parent: the same change on the same base.
func (s *GitStore) SameChange(a, b plumbing.Hash) bool {
	objs := s.objects()
	ca, err1 := object.GetCommit(objs, a)
	cb, err2 := object.GetCommit(objs, b)
	if err1 != nil || err2 != nil || ca.TreeHash != cb.TreeHash || len(ca.ParentHashes) == 0 || len(cb.ParentHashes) == 0 {
		return false
	}
	return ca.ParentHashes[0] == cb.ParentHashes[0]
}

// maxEditedFile bounds the files the event watcher reads and writes.
const maxEditedFile = 32 << 20

func modeName(m filemode.FileMode) string {
	switch m {
	case filemode.Symlink:
		return "symbolic link"
	case filemode.Dir:
		return "directory"
	case filemode.Submodule:
		return "submodule"
	}
	return "special file"
}

// CommitFiles writes a commit whose parent is parent and whose tree is
// parent's with the given files' contents replaced (each keeps its mode;
// files must exist). The author and committer are Options.Committer.
//
// The new objects stay in memory until PushBranch writes them.
func (s *GitStore) CommitFiles(parent plumbing.Hash, files map[string][]byte, msg string) (plumbing.Hash, error) {
	objs := s.objects()
	c, err := object.GetCommit(objs, parent)
	if err != nil {
		return plumbing.ZeroHash, &Error{Op: "commit", Err: err}
	}
	blobs := make(map[string]plumbing.Hash, len(files))
	for p, data := range files {
		h, err := storeBlob(objs, data)
		if err != nil {
			return plumbing.ZeroHash, &Error{Op: "commit " + p, Err: err}
		}
		blobs[p] = h
	}
	tree, err := s.replaceBlobs(objs, c.TreeHash, "", blobs)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for p := range blobs { // not placed: no such file
		return plumbing.ZeroHash, &Error{Op: "commit " + p, Err: ErrFileNotFound}
	}
	sig := object.Signature{Name: s.opts.Committer.Name, Email: s.opts.Committer.Email, When: s.opts.Now()}
	return storeObject(objs, &object.Commit{Author: sig, Committer: sig, Message: string(s.mask([]byte(msg))),
		TreeHash: tree, ParentHashes: []plumbing.Hash{parent}})
}

// replaceBlobs rewrites tree (at dir) with the blobs under it, removing
// each one it places from blobs.
func (s *GitStore) replaceBlobs(objs overlay, tree plumbing.Hash, dir string, blobs map[string]plumbing.Hash) (plumbing.Hash, error) {
	t, err := object.GetTree(objs, tree)
	if err != nil {
		return plumbing.ZeroHash, &Error{Op: "commit", Err: err}
	}
	entries := make([]object.TreeEntry, len(t.Entries))
	copy(entries, t.Entries)
	changed := false
	for i, e := range entries {
		full := path.Join(dir, e.Name)
		switch {
		case e.Mode == filemode.Dir && underAny(full, blobs):
			sub, err := s.replaceBlobs(objs, e.Hash, full, blobs)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if sub != e.Hash {
				entries[i].Hash, changed = sub, true
			}
		case e.Mode.IsFile() && e.Mode != filemode.Symlink:
			if h, ok := blobs[full]; ok {
				delete(blobs, full)
				if h != e.Hash {
					entries[i].Hash, changed = h, true
				}
			}
		}
	}
	if !changed {
		return tree, nil
	}
	return storeObject(objs, &object.Tree{Entries: entries})
}

func underAny(dir string, blobs map[string]plumbing.Hash) bool {
	for p := range blobs {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// PushBranch moves the remote branch from expected (zero: it must not
// exist) to next, by compare-and-swap. also are commits the remote has
// (the base branch's tip for a new branch): their objects are not sent.
// A remote branch that is not at expected is ErrBranchMoved.
func (s *GitStore) PushBranch(ctx context.Context, name string, expected, next plumbing.Hash, also ...plumbing.Hash) error {
	ref := plumbing.NewBranchReferenceName(name)
	if !s.pushes() {
		return &Error{Op: "push branch " + name, Msg: "pushing is turned off (--offline, --no-push or no remote)",
			Hint: "run without it, or use --dry-run to see the changes"}
	}
	if err := s.flushPending(); err != nil {
		return err
	}
	err := s.casPush(ctx, ref, expected, next, also...)
	var conflict *conflictError
	if errors.As(err, &conflict) {
		return fmt.Errorf("branch %s is now at %s: %w", name, short(conflict.current), ErrBranchMoved)
	}
	var e *Error
	if errors.As(err, &e) && e.Hint != "" && !errors.Is(err, ErrPermission) {
		e.Hint = fmt.Sprintf("branch protection may reject pushes to %s: allow the job's identity to push, or use makePullRequest", name)
	}
	if errors.Is(err, ErrPermission) && e != nil {
		e.Hint = fmt.Sprintf("the credentials cannot push to branch %s: give the token contents:write (GitHub) or write_repository (GitLab), or allow it past the branch protection", name)
	}
	return err
}
