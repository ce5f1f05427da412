// Package lazyre compiles a package's regular expressions on their first
// use rather than at program start: every command of pipe, `pipe version`
// included, would otherwise pay for compiling the patterns of all the code
// it links but does not run.
package lazyre

import (
	"regexp"
	"sync"
)

// New returns a function that compiles pattern on its first call, as
// regexp.MustCompile does (a bad pattern panics there; tests that use it
// catch it), and returns that same *regexp.Regexp on every call. It is safe
// for concurrent use.
func New(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
