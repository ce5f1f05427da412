package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
)

// The remote is spoken to at the transport level (one upload-pack or
// receive-pack exchange per operation) rather than through go-git's
// Remote.Fetch/Push:
//
//   - a push is a compare-and-swap: the receive-pack command carries the
//     old value pipe expects (zero: "must not exist"), and the server
//     applies it atomically under the ref's lock or rejects it. This is
//     what PushOptions.RequireRemoteRefs checks, but RequireRemoteRefs
//     cannot say "must not exist" (it fails on an absent ref), which lock
//     creation needs, nor "delete only if still X";
//   - go-git's Remote.Push computes the objects to send by walking
//     everything reachable from every advertised ref the clone has, the
//     whole branch history included (2.8 s per push on a 3,000-commit
//     repository with 200 notes refs); pipe sends the objects of the new
//     notes commits that are not in the remote's tree, which costs what
//     changed;
//   - one advertisement tells both the remote's notes tip and lock of an
//     app, and a fetch of a missing ref is not an error.

// conflictError reports that the remote ref was not at the expected value.
type conflictError struct {
	ref     plumbing.ReferenceName
	current plumbing.Hash
}

func (e *conflictError) Error() string {
	return fmt.Sprintf("remote %s moved (now %s)", e.ref, short(e.current))
}

func short(h plumbing.Hash) string {
	if h.IsZero() {
		return "absent"
	}
	return h.String()[:12]
}

func (s *GitStore) endpoint() (transport.Transport, *transport.Endpoint, transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(s.remoteURL)
	if err != nil {
		return nil, nil, nil, &Error{Op: "remote " + s.opts.Remote, Msg: "invalid URL " + s.remoteURL, Err: err}
	}
	c, err := client.NewClient(ep)
	if err != nil {
		return nil, nil, nil, &Error{Op: "remote " + s.opts.Remote, Err: err}
	}
	auth, err := s.opts.Credentials.authMethod(s.remoteURL)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, ep, auth, nil
}

// fetch reads the remote's refs, downloads the objects of those for which
// match is true, and sets their remote-tracking copies (removing the copies
// of refs the remote no longer has). It returns the remote values of the
// matching refs.
func (s *GitStore) fetch(ctx context.Context, match func(plumbing.ReferenceName) bool) (map[plumbing.ReferenceName]plumbing.Hash, error) {
	c, ep, auth, err := s.endpoint()
	if err != nil {
		return nil, err
	}
	sess, err := c.NewUploadPackSession(ep, auth)
	if err != nil {
		return nil, s.remoteError("fetch", err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return map[plumbing.ReferenceName]plumbing.Hash{}, s.syncTracking(match, nil)
	}
	if err != nil {
		return nil, s.remoteError("fetch", err)
	}
	remote := map[plumbing.ReferenceName]plumbing.Hash{}
	var wants []plumbing.Hash
	for name, h := range ar.References {
		rn := plumbing.ReferenceName(name)
		if !match(rn) {
			continue
		}
		remote[rn] = h
		if s.st.HasEncodedObject(h) != nil {
			wants = append(wants, h)
		}
	}
	if len(wants) > 0 {
		req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
		if ar.Capabilities.Supports(capability.NoProgress) {
			_ = req.Capabilities.Set(capability.NoProgress)
		}
		req.Wants = dedupHashes(wants)
		req.Haves = s.haves(match)
		if err := s.download(ctx, sess, req); err != nil {
			return nil, s.remoteError("fetch", err)
		}
		s.notice(LevelDebug, "", fmt.Sprintf("fetched %d ref(s) from %s", len(wants), s.opts.Remote))
	}
	return remote, s.syncTracking(match, remote)
}

func (s *GitStore) download(ctx context.Context, sess transport.UploadPackSession, req *packp.UploadPackRequest) (err error) {
	r, err := sess.UploadPack(ctx, req)
	if errors.Is(err, transport.ErrEmptyUploadPackRequest) {
		return nil
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := r.Close(); err == nil {
			err = cerr
		}
	}()
	var in io.Reader = r
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		in = sideband.NewDemuxer(sideband.Sideband64k, r)
	case req.Capabilities.Supports(capability.Sideband):
		in = sideband.NewDemuxer(sideband.Sideband, r)
	}
	return packfile.UpdateObjectStorage(s.st, in)
}

// haves lists commits the server can skip: the local and tracking tips of
// the refs being fetched and a few of their ancestors.
func (s *GitStore) haves(match func(plumbing.ReferenceName) bool) []plumbing.Hash {
	var out []plumbing.Hash
	iter, err := s.st.IterReferences()
	if err != nil {
		return nil
	}
	prefix := plumbing.ReferenceName(trackingRoot + s.opts.Remote + "/")
	_ = iter.ForEach(func(r *plumbing.Reference) error {
		name := r.Name()
		if strings.HasPrefix(name.String(), prefix.String()) {
			name = plumbing.ReferenceName("refs/" + strings.TrimPrefix(name.String(), prefix.String()))
		}
		if r.Type() == plumbing.HashReference && match(name) {
			out = append(out, s.ancestors(r.Hash(), 16)...)
		}
		return nil
	})
	return dedupHashes(out)
}

// ancestors returns h and up to n-1 of its first-parent ancestors.
func (s *GitStore) ancestors(h plumbing.Hash, n int) []plumbing.Hash {
	var out []plumbing.Hash
	for i := 0; i < n && !h.IsZero(); i++ {
		c, err := s.commit(h)
		if err != nil {
			break
		}
		out = append(out, h)
		if len(c.ParentHashes) == 0 {
			break
		}
		h = c.ParentHashes[0]
	}
	return out
}

// syncTracking points the tracking copies of matching refs at their remote
// values and removes those the remote no longer has.
func (s *GitStore) syncTracking(match func(plumbing.ReferenceName) bool, remote map[plumbing.ReferenceName]plumbing.Hash) error {
	prefix := trackingRoot + s.opts.Remote + "/"
	iter, err := s.st.IterReferences()
	if err != nil {
		return err
	}
	var stale []plumbing.ReferenceName
	_ = iter.ForEach(func(r *plumbing.Reference) error {
		if !strings.HasPrefix(r.Name().String(), prefix) {
			return nil
		}
		orig := plumbing.ReferenceName("refs/" + strings.TrimPrefix(r.Name().String(), prefix))
		if _, ok := remote[orig]; !ok && match(orig) {
			stale = append(stale, r.Name())
		}
		return nil
	})
	for _, n := range stale {
		if err := s.st.RemoveReference(n); err != nil {
			return err
		}
	}
	for name, h := range remote {
		if err := s.st.SetReference(plumbing.NewHashReference(trackingRef(s.opts.Remote, name), h)); err != nil {
			return err
		}
	}
	return nil
}

// casPush sets the remote ref from expected to next (zero expected: the ref
// must not exist; zero next: delete it). A remote that is not at expected
// yields a *conflictError, detected from the advertisement before sending
// and, for a race lost after it, by reading the remote ref again when the
// server rejects the update: the rejection text differs between servers,
// the ref's value does not.
func (s *GitStore) casPush(ctx context.Context, ref plumbing.ReferenceName, expected, next plumbing.Hash) error {
	c, ep, auth, err := s.endpoint()
	if err != nil {
		return err
	}
	sess, err := c.NewReceivePackSession(ep, auth)
	if err != nil {
		return s.remoteError("push", err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return s.remoteError("push", err)
	}
	current := plumbing.ZeroHash
	if ar != nil {
		current = ar.References[ref.String()]
	}
	if current != expected {
		return &conflictError{ref: ref, current: current}
	}
	if expected == next {
		return nil
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	req.Commands = []*packp.Command{{Name: ref, Old: expected, New: next}}
	done := make(chan error, 1)
	if next.IsZero() {
		if !ar.Capabilities.Supports(capability.DeleteRefs) {
			return &Error{Op: "push", Msg: "the remote does not allow deleting refs (receive.denyDeletes?)"}
		}
		close(done)
	} else {
		hashes, err := s.objectsToPush(next, expected)
		if err != nil {
			return &Error{Op: "push " + ref.String(), Msg: "collect objects", Err: err}
		}
		pr, pw := io.Pipe()
		req.Packfile = pr
		useRefDeltas := !ar.Capabilities.Supports(capability.OFSDelta)
		go func() {
			_, err := packfile.NewEncoder(pw, s.st, useRefDeltas).Encode(hashes, 10)
			done <- pw.CloseWithError(err)
		}()
	}
	rs, err := sess.ReceivePack(ctx, req)
	if req.Packfile != nil {
		_ = req.Packfile.Close()
	}
	perr := <-done
	if err != nil {
		return s.pushRejected(ctx, ref, expected, err)
	}
	if rs != nil {
		if err := rs.Error(); err != nil {
			return s.pushRejected(ctx, ref, expected, err)
		}
	}
	if perr != nil && !errors.Is(perr, io.ErrClosedPipe) {
		return &Error{Op: "push " + ref.String(), Msg: "encode pack", Err: perr}
	}
	return nil
}

// pushRejected classifies a failed push: a permission problem, a lost race
// (the ref moved), or another refusal.
func (s *GitStore) pushRejected(ctx context.Context, ref plumbing.ReferenceName, expected plumbing.Hash, cause error) error {
	if isPermission(cause) {
		return s.remoteError("push", cause)
	}
	now, err := s.lsRemote(ctx, ref)
	if err == nil && now != expected {
		return &conflictError{ref: ref, current: now}
	}
	return &Error{Op: "push " + ref.String(), Msg: "the remote refused the update", Err: cause,
		Hint: "a server-side hook or ref protection may reject pushes to refs/notes/pipe/* or refs/pipe/locks/*"}
}

// lsRemote returns the remote value of one ref (zero if absent).
func (s *GitStore) lsRemote(ctx context.Context, ref plumbing.ReferenceName) (plumbing.Hash, error) {
	c, ep, auth, err := s.endpoint()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	sess, err := c.NewUploadPackSession(ep, auth)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return ar.References[ref.String()], nil
}

// isPermission reports whether err is the server refusing for lack of
// rights: HTTP 401/403, or a rejection naming permission or protection.
func isPermission(err error) bool {
	if errors.Is(err, transport.ErrAuthorizationFailed) || errors.Is(err, transport.ErrAuthenticationRequired) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, p := range []string{"permission", "denied", "forbidden", "403", "not allowed", "protected", "write access"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// remoteError wraps a transport error with what to do about it.
func (s *GitStore) remoteError(op string, err error) error {
	e := &Error{Op: fmt.Sprintf("%s %s (%s)", op, s.opts.Remote, redactURL(s.remoteURL)), Err: err}
	switch {
	case isPermission(err) && op == "push":
		e.Err = fmt.Errorf("%w: %w", ErrPermission, err)
		e.Hint = permissionHint(s.opts.Credentials, s.remoteURL)
	case errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed):
		e.Err = fmt.Errorf("%w: %w", ErrPermission, err)
		e.Hint = "the remote needs credentials: set GITHUB_TOKEN, GITLAB_TOKEN or PIPE_GIT_TOKEN (HTTPS), or PIPE_SSH_KEY_FILE (ssh)"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		e.Hint = "check the remote's URL (git remote -v) and that the token can read the repository"
	}
	return e
}

// redactURL drops user info from a URL for messages.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.Index(rest, "@"); at >= 0 && (strings.Index(rest, "/") < 0 || at < strings.Index(rest, "/")) {
			return u[:i+3] + rest[at+1:]
		}
	}
	return u
}

func dedupHashes(hs []plumbing.Hash) []plumbing.Hash {
	seen := make(map[plumbing.Hash]bool, len(hs))
	out := hs[:0:0]
	for _, h := range hs {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}
