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

	"github.com/gitops-pipe/pipe/internal/redact"
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

func (s *GitStore) endpoint() (transport.Transport, *transport.Endpoint, transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(s.remoteURL)
	if err != nil {
		// url.Parse's message quotes the URL and the part it stumbled on,
		// which is a token's when the token holds a '/' or a '%': neither
		// is shown.
		return nil, nil, nil, &Error{Op: "remote " + s.opts.Remote, Msg: "invalid URL " + redact.URL(s.remoteURL),
			Hint: "check the remote's URL (git remote -v); credentials in a URL must be percent-encoded, " +
				"better: remove them from the URL and set PIPE_GIT_TOKEN"}
	}
	c, err := client.NewClient(ep)
	if err != nil {
		return nil, nil, nil, &Error{Op: "remote " + s.opts.Remote, Err: err}
	}
	auth, err := s.opts.Credentials.AuthMethod(s.remoteURL)
	if e := (*Error)(nil); errors.As(err, &e) {
		e.Op = "remote " + s.opts.Remote + ": " + e.Op
		e.Hint = strings.ReplaceAll(e.Hint, "<remote>", s.opts.Remote)
	}
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
	for attempt := 1; ; attempt++ {
		remote, err := s.fetchOnce(ctx, match)
		// Over stateless HTTP the refs are advertised by one request and
		// the pack asked for by another: a ref that moved in between is
		// "not our ref" to the server. Ask again.
		if err == nil || attempt >= s.opts.MaxAttempts || !strings.Contains(err.Error(), "not our ref") {
			return remote, err
		}
		s.notice(LevelDebug, "", "a ref moved while fetching; fetching again")
		if err := s.opts.Sleep(ctx, s.backoff(1)); err != nil {
			return nil, err
		}
	}
}

func (s *GitStore) fetchOnce(ctx context.Context, match func(plumbing.ReferenceName) bool) (map[plumbing.ReferenceName]plumbing.Hash, error) {
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
		tr := trackingRef(s.opts.Remote, name)
		if s.ref(tr) == h {
			continue
		}
		if err := s.st.SetReference(plumbing.NewHashReference(tr, h)); err != nil {
			return err
		}
	}
	return nil
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
