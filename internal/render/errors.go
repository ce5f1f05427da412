package render

import (
	"fmt"
	"strconv"
)

// Error is a rendering error located in a file: a manifest, a values file, a
// kustomization or a chart template.
type Error struct {
	// File is the path relative to the repository root, with forward
	// slashes; for a chart that is not in the repository, the template path
	// as Helm names it.
	File string
	// Line is 1-based; 0 when the library did not say.
	Line int
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Err.Error()
	case e.Line > 0:
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Err.Error()
	}
	return e.File + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Err: fmt.Errorf(format, args...)}
}
