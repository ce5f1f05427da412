package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Exit codes are public API: scripts and CI branch on them. Keep in sync
// with the README and `pipe --help`.
const (
	ExitOK          = 0   // success; for plan/drift: nothing to change
	ExitFailed      = 1   // the operation failed
	ExitUsage       = 2   // usage or configuration error; nothing was changed
	ExitChanges     = 3   // plan found changes (--detailed-exitcode) / drift found
	ExitPaused      = 4   // paused: waiting for approval
	ExitLocked      = 5   // another deployment of the app holds the lock
	ExitInterrupted = 130 // interrupted (SIGINT/SIGTERM), after cleanup and recording
)

const exitCodeHelp = `Exit codes:
  0    success; for plan/drift: nothing to change
  1    the operation failed (deployment failed, rolled back, analysis failed)
  2    usage or configuration error (nothing was changed)
  3    plan found changes (--detailed-exitcode) / drift found
  4    paused: waiting for approval (resume with pipe sync --resume)
  5    another deployment of the app holds the lock
  130  interrupted (SIGINT/SIGTERM), after cleanup and recording`

// Error is the one user-facing error shape: what went wrong (Summary), the
// details (Detail), what to do (Hint) and the exit code. Every error that
// leaves a command is turned into one by toError and rendered by render.
type Error struct {
	Code    int
	Summary string
	Detail  string
	Hint    string
	// Quiet suppresses rendering: the command already reported the problem
	// on stdout/stderr and only the exit code is left to set.
	Quiet bool
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Summary == "" {
		return e.Err.Error()
	}
	return e.Summary
}

func (e *Error) Unwrap() error { return e.Err }

// The hints of usage errors that do not know the command; runWith puts in
// the command that was run.
const (
	commandHelpHint = "see `pipe <command> --help`"
	rootHelpHint    = "see `pipe --help`"
)

// usageError marks command-line misuse (exit 2).
func usageError(format string, args ...any) *Error {
	return &Error{Code: ExitUsage, Summary: fmt.Sprintf(format, args...), Hint: commandHelpHint}
}

// toError maps any error to an *Error with its exit code.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	msg := err.Error()
	// cobra's own argument and flag errors are usage errors.
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "if any flags in the group", "required flag"} {
		if strings.Contains(msg, p) {
			return &Error{Code: ExitUsage, Summary: msg, Hint: rootHelpHint, Err: err}
		}
	}
	return &Error{Code: ExitFailed, Summary: msg, Err: err}
}

// renderTo writes the error to w in the one format pipe uses, for a
// terminal: the Markdown code spans of its texts (`pipe plan --help`) lose
// their backticks (see style.Text).
func renderTo(w io.Writer, e *Error, st style) {
	if e.Quiet {
		return
	}
	fmt.Fprintf(w, "%s %s\n", st.Red("error:"), st.Text(e.Summary))
	if e.Detail != "" {
		for _, line := range strings.Split(strings.TrimRight(e.Detail, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", st.Text(line))
		}
	}
	if e.Hint != "" {
		fmt.Fprintf(w, "%s %s\n", st.Cyan("hint:"), st.Text(e.Hint))
	}
}
