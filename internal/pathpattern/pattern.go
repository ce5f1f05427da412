// Package pathpattern matches repository paths against PipeCD's trigger
// path patterns (its pkg/filematcher dialect), for the trigger rules of
// source and the pattern checks of config alike.
package pathpattern

import (
	"errors"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Pattern is one trigger.onCommit path pattern, with PipeCD's semantics
// (its pkg/filematcher, the .dockerignore dialect), so that configs carried
// over from PipeCD select the same files:
//
//   - patterns and files are relative to the repository root;
//   - "*" and "?" do not cross "/"; "**" crosses any number of directories
//     ("a/**" matches everything below a, "**/x" matches x at any depth);
//     "[a-z]", "[^a-z]" and "\" escapes are as in path.Match;
//   - a pattern also matches every file below a directory it matches
//     ("charts/web" and "charts/*" match "charts/web/values.yaml");
//   - the pattern is trimmed and cleaned first ("charts/web/" is "charts/web");
//   - a pattern starting with "!" matches nothing (PipeCD compiles each entry
//     on its own, so there is nothing for an exclusion to exclude from).
type Pattern struct {
	text  string // as written
	never bool   // empty or "!"-prefixed: matches nothing
	dirs  int    // number of "/"-separated parts of the cleaned pattern
	expr  string
	re    *regexp.Regexp // compiled from expr on first use
	// lit is the pattern's leading literal text: every match starts with it.
	lit string
}

// errBadPattern is returned for malformed patterns, as path.Match does.
var errBadPattern = path.ErrBadPattern

func Compile(text string) (*Pattern, error) {
	p := &Pattern{text: text}
	s := strings.TrimSpace(text)
	if s == "" {
		p.never = true
		return p, nil
	}
	s = path.Clean(s)
	if s[0] == '!' {
		if len(s) == 1 {
			return nil, errors.New(`illegal exclusion pattern "!"`)
		}
		s = s[1:]
		p.never = true
	}
	if _, err := path.Match(s, "."); err != nil {
		return nil, err
	}
	p.expr = patternRegexp(s)
	// Only brackets and escapes can make the expression invalid; compile
	// those now to report the error, the rest on first use (most patterns
	// are never tried: no changed file starts with their literal prefix).
	if strings.ContainsAny(s, `[\`) {
		re, err := regexp.Compile(p.expr)
		if err != nil {
			return nil, errBadPattern
		}
		p.re = re
	}
	p.dirs = strings.Count(s, "/") + 1
	p.lit = s
	if i := strings.IndexAny(s, `*?[\`); i >= 0 {
		p.lit = s[:i]
	}
	return p, nil
}

// patternRegexp translates a cleaned pattern to an anchored regular expression.
func patternRegexp(s string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch c {
		case '*':
			if i < len(s) && s[i] == '*' {
				i++
				if i < len(s) && s[i] == '/' {
					i++ // "**/" is "**"
				}
				if i == len(s) {
					b.WriteString(".*")
				} else {
					b.WriteString("(.*/)?")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			b.WriteString("[")
			if i < len(s) && s[i] == '^' {
				i++
				b.WriteString("^")
			}
		case '.', '$', '+', '(', ')', '{', '}', '^', '|':
			b.WriteString(`\`)
			b.WriteRune(c)
		case '\\':
			b.WriteString(`\`)
			if i < len(s) {
				n, size := utf8.DecodeRuneInString(s[i:])
				i += size
				b.WriteRune(n)
			}
		default:
			b.WriteRune(c)
		}
	}
	b.WriteString("$")
	return b.String()
}

// match reports whether the repo-relative file matches: itself, or its
// leading directories cut to the pattern's depth.
func (p *Pattern) Match(file string) bool {
	if p.never {
		return false
	}
	if p.re == nil {
		re, err := regexp.Compile(p.expr)
		if err != nil { // cannot happen without brackets or escapes
			p.never = true
			return false
		}
		p.re = re
	}
	if p.re.MatchString(file) {
		return true
	}
	parent := path.Dir(file)
	if parent == "." {
		return false
	}
	// The first p.dirs parts of the parent directory, when it has that many.
	n, cut := 0, -1
	for k := 0; k < len(parent); k++ {
		if parent[k] == '/' {
			n++
			if n == p.dirs {
				cut = k
				break
			}
		}
	}
	switch {
	case cut >= 0:
		return p.re.MatchString(parent[:cut])
	case n+1 == p.dirs:
		return p.re.MatchString(parent)
	}
	return false
}

// Literal is the pattern's leading literal text: every file it matches
// starts with it, so a caller can skip files without it.
func (p *Pattern) Literal() string { return p.lit }
