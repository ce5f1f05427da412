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
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// casPush sets the remote ref from expected to next (zero expected: the ref
// must not exist; zero next: delete it). A remote that is not at expected
// yields a *conflictError, detected from the advertisement before sending
// and, for a race lost after it, by reading the remote ref again when the
// server rejects the update: the rejection text differs between servers,
// the ref's value does not.
//
// The remote is taken to have the commits in also (and their ancestors):
// their objects are not sent.
func (s *GitStore) casPush(ctx context.Context, ref plumbing.ReferenceName, expected, next plumbing.Hash, also ...plumbing.Hash) error {
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
	if err != nil || ar == nil {
		if err == nil {
			err = errors.New("no reference advertisement")
		}
		return s.remoteError("push", err)
	}
	current := ar.References[ref.String()]
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
		hashes, err := s.objectsToPush(next, expected, also...)
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
// (the ref moved), or another refusal. A race is recognised either by the
// ref no longer being at the expected value or by the server's rejection
// naming a ref update that lost (git says "failed to update ref", others
// "stale info", "fetch first"...): the value alone is not enough, since the
// winner may already have moved the ref back (a lock released at once).
func (s *GitStore) pushRejected(ctx context.Context, ref plumbing.ReferenceName, expected plumbing.Hash, cause error) error {
	if isPermission(cause) {
		return s.remoteError("push", cause)
	}
	now, err := s.lsRemote(ctx, ref)
	if err == nil && now != expected || isLostRace(cause) {
		return &conflictError{ref: ref, current: now}
	}
	return &Error{Op: "push " + ref.String(), Msg: "the remote refused the update", Err: trimmedError{redact.Error(cause)},
		Hint: fmt.Sprintf("a server-side hook or ref protection may reject pushes to %s/* or %s*", s.opts.NotesRef, locksPrefix)}
}

// trimmedError drops the line break a server's message ends with.
type trimmedError struct{ err error }

func (e trimmedError) Error() string { return strings.TrimSpace(e.err.Error()) }
func (e trimmedError) Unwrap() error { return e.err }

// isLostRace reports whether a rejection reads as a compare-and-swap lost
// to another writer.
func isLostRace(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, p := range []string{"failed to update ref", "failed to lock", "cannot lock ref", "stale info",
		"fetch first", "non-fast-forward", "already exists", "but expected", "incorrect old value"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
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
	err = redact.Error(err) // go-git and net/http print the URL, credentials and all
	e := &Error{Op: fmt.Sprintf("%s %s (%s)", op, s.opts.Remote, redact.URL(s.remoteURL)), Err: err}
	switch {
	case isPermission(err) && op == "push":
		e.Err = fmt.Errorf("%w: %w", ErrPermission, err)
		e.Hint = permissionHint(s.opts.Credentials, s.remoteURL, s.opts.NotesRef)
	case errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed):
		e.Err = fmt.Errorf("%w: %w", ErrPermission, err)
		e.Hint = "the remote needs credentials: set GITHUB_TOKEN, GITLAB_TOKEN or PIPE_GIT_TOKEN (HTTPS), or PIPE_SSH_KEY_FILE (ssh)"
		if src := s.opts.Credentials.TokenSource; s.opts.Credentials.Token != "" && src != "" {
			e.Hint = "the remote rejected the token from " + src + ": check that it is valid, not expired, and can access the repository"
		}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		e.Hint = "check the remote's URL (git remote -v) and that the token can read the repository"
	}
	return e
}

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
