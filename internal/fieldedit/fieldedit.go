// Package fieldedit replaces one value of a file in place, the way the
// event watcher (`pipe event watch`) updates a GitOps repository when an
// event such as "image tag v1.2.3" arrives: a field of a YAML, JSON or HCL
// file, or the first capturing group of a regular expression.
//
// The edit is a splice: only the bytes of the replaced scalar change.
// Comments, key order, quoting, indentation, line endings (CRLF too), a
// byte order mark, other documents and trailing text are kept byte for
// byte. The value comes from another repository's CI and is untrusted: it
// is written in a form that reads back as exactly that value, and every
// edited file is parsed again and compared with the original before it is
// returned, so that a value can never inject structure.
//
// # Paths
//
// YAML and JSON paths are PipeCD's yamlField syntax (goccy/go-yaml's):
//
//	$                 the document's root
//	.key              a mapping's value
//	.'a.b' ['a.b']    a key holding reserved characters (also ["a.b"]; \ escapes)
//	[n]               item n of a sequence, from 0
//	[*]               every item of a sequence
//	..key             the values of key at any depth
//
// A path that leads to several scalars replaces them all; in a file of
// several documents it applies to each. It must end at scalars: a mapping,
// a sequence, an alias or an anchored value that an alias repeats are
// refused.
//
// # How a YAML value is written
//
// A scalar keeps its style when the value reads back in it as itself and
// of the same type: a plain scalar stays plain only if the new text
// resolves to the old tag (a string replaced by "true", "1.0", "null",
// "a: b" or "" is double-quoted; an integer replaced by "4" stays a plain
// integer, by "abc" becomes a double-quoted string). The type is the
// same under YAML 1.2 and YAML 1.1, which Kubernetes and Helm read
// (sigs.k8s.io/yaml): a string replaced by "yes", "off" or "1:20" is
// double-quoted too, unless the old value was of the same kind (a plain
// "yes" replaced by "no" stays plain). A single-quoted
// scalar stays so unless the value holds a line break or a character that
// needs an escape; a block scalar (| or >) keeps its indicator and
// indentation for a value of several lines and becomes double-quoted
// otherwise. An explicit tag is kept, and the value must be of its type.
package fieldedit

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxFileSize is the largest file the editors accept (and produce).
const MaxFileSize = 10 << 20

// Result is the outcome of one edit.
type Result struct {
	// Out is the file's new content (the input itself when !Changed).
	Out []byte
	// Changed is false when every place matched already holds the value
	// (PipeCD: "Nothing to commit").
	Changed bool
	// Old holds the previous value of each place replaced, in file order.
	Old []string
	// Lines holds the 1-based line (in the input) of each place replaced.
	Lines []int
}

// ErrNotFound is wrapped by the error of an edit whose path or pattern
// matches nothing in the file: errors.Is(err, ErrNotFound).
var ErrNotFound = errors.New("no match in the file")

// Error is an edit that cannot be made: a path that does not parse or
// match, a place that cannot be replaced, a file that cannot be read.
type Error struct {
	// Path is the path (or the regular expression) of the edit.
	Path string
	// Line is the 1-based line of the file the error is about; 0 if none.
	Line int
	// Msg says what is wrong and what to do.
	Msg string
	// Err is ErrNotFound when nothing matched; nil otherwise.
	Err error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Unwrap returns ErrNotFound for a path or pattern that matches nothing.
func (e *Error) Unwrap() error { return e.Err }

func errorf(path string, line int, format string, args ...any) *Error {
	return &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func notFound(path string, line int, format string, args ...any) *Error {
	return &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...), Err: ErrNotFound}
}

// checkInput refuses a file or a value the editors do not take.
func checkInput(path string, data []byte, value string) error {
	if len(data) > MaxFileSize {
		return errorf(path, 0, "the file is %s; files over %s are not edited (is it really a configuration file?)", size(len(data)), size(MaxFileSize))
	}
	if !utf8.ValidString(value) {
		return errorf(path, 0, "the value is not valid UTF-8; only text can be written")
	}
	if len(value) > MaxFileSize {
		return errorf(path, 0, "the value is %s; values over %s are not written", size(len(value)), size(MaxFileSize))
	}
	return nil
}

// start parses the path of a YAML, JSON or HCL edit (with implicitRoot, it
// may leave out its leading "$.") and checks the file and the value.
func start(text string, data []byte, value string, implicitRoot bool) (*path, error) {
	p, err := parsePath(text, implicitRoot)
	if err != nil {
		return nil, err
	}
	if err := checkInput(text, data, value); err != nil {
		return nil, err
	}
	return p, nil
}

// apply ends a YAML, JSON or HCL edit: it splices repls into data and
// returns res with the edited file, unless check finds that the edited
// file does not read as the original with only the values replaced (an
// unsafe edit). res is returned as is when there is nothing to replace.
func apply(path string, data []byte, value string, res Result, repls []repl, check func(out []byte) error) (Result, error) {
	if len(repls) == 0 {
		return res, nil
	}
	out, err := splice(data, repls)
	if err != nil {
		return Result{}, errorf(path, res.Lines[0], "%v", err)
	}
	if err := checkOutput(path, out); err != nil {
		return Result{}, err
	}
	if err := check(out); err != nil {
		return Result{}, unsafeEdit(path, res.Lines[0], value, err)
	}
	res.Out, res.Changed = out, true
	return res, nil
}

// unsafeEdit is an edit refused because the edited file does not read as
// the original with only the value changed.
func unsafeEdit(path string, line int, value string, err error) *Error {
	why := err.Error()
	if fe, ok := err.(*Error); ok {
		why = fe.Msg
	}
	return errorf(path, line, "cannot write %s here safely: the edited file would read differently (%s); edit the file by hand", short(value), why)
}

// checkOutput refuses an edited file over MaxFileSize.
func checkOutput(path string, out []byte) error {
	if len(out) > MaxFileSize {
		return errorf(path, 0, "the edited file would be %s, over the %s limit", size(len(out)), size(MaxFileSize))
	}
	return nil
}

func size(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// short quotes s for a message, cut to a readable length.
func short(s string) string {
	const limit = 60
	if utf8.RuneCountInString(s) > limit {
		r := []rune(s)
		return fmt.Sprintf("%q…", string(r[:limit]))
	}
	return fmt.Sprintf("%q", s)
}

// list joins names for a message, at most a handful of them.
func list(names []string) string {
	const limit = 8
	if len(names) > limit {
		return strings.Join(names[:limit], ", ") + fmt.Sprintf(" and %d more", len(names)-limit)
	}
	return strings.Join(names, ", ")
}

// plural is "1 item", "2 items".
func plural(n int, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
