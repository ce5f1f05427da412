package source

import (
	"errors"
	"fmt"
)

// Sentinel causes, for errors.Is.
var (
	// ErrNotRepository: the directory is not inside a Git repository.
	ErrNotRepository = errors.New("not a git repository")
	// ErrRevisionNotFound: no branch, tag or commit has that name.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrMissingObject: a commit or tree the operation needs is not in the
	// clone, usually because the CI checkout is shallow.
	ErrMissingObject = errors.New("object missing from the clone")
	// ErrInvalidRevision: the revision is malformed or uses unsupported syntax.
	ErrInvalidRevision = errors.New("invalid revision")
)

// hintFullHistory is the fix for revisions missing from a CI checkout.
const hintFullHistory = "CI checkouts are shallow or single-branch by default: fetch the full history " +
	"(GitHub Actions: `fetch-depth: 0` in actions/checkout; GitLab CI: `GIT_DEPTH: 0`), " +
	"or fetch the branch you compare with (git fetch origin main)"

// Error is a failure of a source operation, carrying what the user needs to
// act on it: Subject is the revision or directory in question, Hint says how
// to fix it. Err is the cause (one of the sentinels above, or a go-git error).
type Error struct {
	Subject string
	Msg     string
	Hint    string
	Err     error
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Subject != "" {
		s = e.Subject + ": " + s
	}
	if e.Err != nil && !isSentinel(e.Err) {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func isSentinel(err error) bool {
	switch err {
	case ErrNotRepository, ErrRevisionNotFound, ErrMissingObject, ErrInvalidRevision:
		return true
	}
	return false
}

func revError(rev string, err error, hint, format string, args ...any) *Error {
	return &Error{Subject: fmt.Sprintf("revision %q", rev), Msg: fmt.Sprintf(format, args...), Hint: hint, Err: err}
}
