package fieldedit

import (
	"bytes"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// Regex replaces the first capturing group of every match of pattern (Go
// regexp syntax) in data by value, taken literally ($1 is not expanded),
// as PipeCD's regex replacement does. A pattern without a group is an
// error; one that matches nothing (or whose group takes part in no match)
// is an ErrNotFound *Error.
//
// The value comes from another repository's CI, so the edit is refused
// when:
//   - the value holds a character that is not printable on one line (a
//     line break, including U+0085, U+2028 and U+2029, a tab, a control
//     character, a byte order mark) that the text it replaces does not
//     hold;
//   - the pattern, run again over the edited file, does not match as
//     often, with its group holding the value at each place replaced (the
//     value does not fit the group);
//   - the file is YAML, JSON or HCL and the edited file does not read as
//     the original with only the scalars (expressions) holding replaced
//     text changed: a new key, item, attribute or document, a scalar
//     turned into a collection, an alias or a merge key.
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
		if err := fitsText(value, data[start:end]); err != nil {
			return Result{}, errorf(pattern, line, "%v", err)
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
	if err := rematch(pattern, re, data, out, matches, repls, value); err != nil {
		return Result{}, err
	}
	if err := sameStructure(data, out, repls); err != nil {
		return Result{}, errorf(pattern, res.Lines[0], "%v; the value must fit inside the text it replaces: check it, or use yamlField, jsonField or hclField", err)
	}
	res.Out, res.Changed = out, true
	return res, nil
}

// fitsText refuses a value holding a character that is not printable on
// one line (see inlineRune) unless the text old it replaces holds that
// character too: a group over one line cannot be given lines, a tab or a
// control character. yaml.v3 and sigs.k8s.io/yaml take U+0085, U+2028
// and U+2029 for line breaks.
func fitsText(value string, old []byte) error {
	for _, r := range value {
		if inlineRune(r) || bytes.ContainsRune(old, r) {
			continue
		}
		name, why := "", "only characters printable on one line can replace it"
		switch r {
		case '\n', '\r', 0x85, 0x2028, 0x2029:
			name, why = fmt.Sprintf("a line break (%s)", runeCode(r)), "it would add lines to the file"
		case '\t':
			name = "a tab"
		case 0xfeff:
			name = "a byte order mark (U+FEFF)"
		default:
			name = fmt.Sprintf("the control character %s", runeCode(r))
		}
		return fmt.Errorf("the value holds %s, and the text it would replace does not: %s", name, why)
	}
	return nil
}

func runeCode(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	}
	return fmt.Sprintf("U+%04X", r)
}

// rematch runs re again over out, data with repls applied: it must match
// as many times, its first group taking part in the same matches and
// holding value at each place it did (moved by the replacements before
// it). Otherwise the value does not fit the group (v1.2 for ([0-9.]+)
// holding "v2 --x") or makes the pattern match elsewhere; and running the
// edit again would not find the file up to date.
func rematch(pattern string, re *regexp.Regexp, data, out []byte, matches [][]int, repls []repl, value string) error {
	again := re.FindAllSubmatchIndex(out, -1)
	if len(again) != len(matches) {
		return errorf(pattern, 0, "in the edited file the regular expression would match %s instead of %s: the value changes what it matches; use a value its group matches, or a pattern that fits the value",
			plural(len(again), "time"), plural(len(matches), "time"))
	}
	src := NewSource(data)
	delta, k := 0, 0
	for i, m := range matches {
		start := m[2]
		if start < 0 {
			start = m[0]
		}
		for k < len(repls) && repls[k].start < start {
			delta += len(repls[k].text) - (repls[k].end - repls[k].start)
			k++
		}
		line := src.Line(start)
		g := again[i][2:4]
		switch {
		case m[2] < 0 && g[0] < 0:
			continue
		case m[2] < 0:
			return errorf(pattern, line, "in the edited file the regular expression's first group would take part in a match it took no part in: use a value its group matches")
		case g[0] < 0:
			return errorf(pattern, line, "in the edited file the regular expression's first group would no longer take part in this match: use a value its group matches")
		case g[0] != start+delta || string(out[g[0]:g[1]]) != value:
			got := out[g[0]:g[1]]
			if !utf8.Valid(got) {
				return errorf(pattern, line, "in the edited file the regular expression's first group would not hold the value here: the value does not fit the group; use a value its group matches, or a pattern that fits the value")
			}
			return errorf(pattern, line, "in the edited file the regular expression's first group would hold %s here, not the value: the value does not fit the group; use a value its group matches, or a pattern that fits the value", short(string(got)))
		}
	}
	return nil
}
