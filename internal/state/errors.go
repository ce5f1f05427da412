package state

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel causes, for errors.Is.
var (
	// ErrNotFound: no record with that id, or no successful deployment.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the remote ref kept changing under every retry.
	ErrConflict = errors.New("concurrent updates kept conflicting")
	// ErrPermission: the remote refused for lack of permission.
	ErrPermission = errors.New("permission denied by the remote")
	// ErrLockLost: the lock this process held was taken over or removed.
	ErrLockLost = errors.New("lock lost")
	// ErrCorruptRef: a pipe ref does not point at what pipe stores there.
	ErrCorruptRef = errors.New("ref is not a pipe ref")
	// ErrFutureSchema: the record was written by a newer pipe.
	ErrFutureSchema = errors.New("record has a newer schema")
)

// Error is a failure of a state operation with what the user needs to act
// on it: Op is what was being done ("push records of app web"), Hint how to
// fix it, Err the cause (a sentinel above or a go-git error).
type Error struct {
	Op   string
	Msg  string
	Hint string
	Err  error
}

func (e *Error) Error() string {
	s := e.Op
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// LockedError is returned by Lock when another deployment holds the app's
// lock and its lease has not expired. The CLI maps it to exit code 5.
type LockedError struct {
	App    string
	Holder LockInfo
	// Now is the time the lease was checked against.
	Now time.Time
}

func (e *LockedError) Error() string {
	s := fmt.Sprintf("app %q is locked by %s", e.App, e.Holder.describe())
	if !e.Holder.LeaseExpiresAt.IsZero() {
		s += fmt.Sprintf("; lease expires at %s (in %s)", e.Holder.LeaseExpiresAt.UTC().Format(time.RFC3339),
			e.Holder.LeaseExpiresAt.Sub(e.Now).Round(time.Second))
	}
	return s
}

// Hint says what the user can do.
func (e *LockedError) Hint() string {
	return fmt.Sprintf("wait for that deployment to finish; if it is dead, its lease expires on its own, or an operator can run `pipe unlock %s --force`", e.App)
}

// permissionHint says what to grant, by the kind of host and token.
func permissionHint(c Credentials, remoteURL, notesRef string) string {
	switch hostKind(c, remoteURL) {
	case "github":
		return "the token cannot push: in GitHub Actions grant the job `permissions: contents: write` " +
			"(GITHUB_TOKEN), or use a token with Contents: read and write on this repository in PIPE_GIT_TOKEN"
	case "gitlab":
		return "the token cannot push: CI_JOB_TOKEN is read-only by default; put a project access token " +
			"with the write_repository scope (role Developer or higher) in GITLAB_TOKEN or PIPE_GIT_TOKEN"
	}
	return "the credentials cannot push to the remote: use a token or key with write access to the repository " +
		"(" + notesRef + "/* and " + locksPrefix + "* must be writable) in PIPE_GIT_TOKEN"
}
