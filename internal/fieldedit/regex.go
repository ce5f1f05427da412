package fieldedit

import (
	"bytes"
	"regexp"
)

// Regex replaces the first capturing group of every match of pattern (Go
// regexp syntax) in data by value, taken literally ($1 is not expanded),
// as PipeCD's regex replacement does. A pattern without a group is an
// error; one that matches nothing (or whose group takes part in no match)
// is an ErrNotFound *Error.
func Regex(data []byte, pattern, value string) (Result, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return Result{}, errorf(pattern, 0, "invalid regular expression: %v", err)
	}
	if re.NumSubexp() == 0 {
		return Result{}, errorf(pattern, 0, "the regular expression has no capturing group: put the part to replace in parentheses, e.g. image: app:(.+)")
	}
	if err := checkInput(pattern, data, value); err != nil {
		return Result{}, err
	}
	matches := re.FindAllSubmatchIndex(data, -1)
	res := Result{Out: data}
	var repls []repl
	found := false
	line, at := 1, 0 // the line of offset at
	for _, m := range matches {
		start, end := m[2], m[3]
		if start < 0 {
			continue // the group took no part in this match
		}
		found = true
		if string(data[start:end]) == value {
			continue
		}
		line += bytes.Count(data[at:start], []byte("\n"))
		at = start
		// The value comes from another repository's CI: it may not add
		// lines (new keys, commands) where the group held one line.
		if bytes.ContainsAny([]byte(value), "\r\n") && !bytes.ContainsAny(data[start:end], "\r\n") {
			return Result{}, errorf(pattern, line, "the value holds a line break, and the text it would replace does not: it would add lines to the file")
		}
		repls = append(repls, repl{start, end, value})
		res.Old = append(res.Old, string(data[start:end]))
		res.Lines = append(res.Lines, line)
	}
	switch {
	case len(matches) == 0:
		return Result{}, notFound(pattern, 0, "the regular expression matches nothing in the file")
	case !found:
		return Result{}, notFound(pattern, 0, "the regular expression matches %s, but its first group takes part in none", plural(len(matches), "time"))
	case len(repls) == 0:
		return res, nil
	}
	if len(repls)*len(value) > MaxFileSize {
		return Result{}, errorf(pattern, 0, "the value would be written %d times: the edited file would be over %s", len(repls), size(MaxFileSize))
	}
	out, err := splice(data, repls)
	if err != nil {
		return Result{}, errorf(pattern, res.Lines[0], "%v", err)
	}
	if err := checkOutput(pattern, out); err != nil {
		return Result{}, err
	}
	res.Out, res.Changed = out, true
	return res, nil
}
