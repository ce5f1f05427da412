package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// storedSecret is one spec.encryption.encryptedSecrets entry of an
// application config file, located in the file's bytes so that its
// ciphertext can be replaced without touching any other byte.
type storedSecret struct {
	Name  string
	Value string // the ciphertext, as YAML reads it
	Line  int    // of the value, 1-based
	// [start, end) is replaced by the new scalar; for a block scalar,
	// [end, tail) is the rest of its indicator line (a comment) kept after
	// it, and [tail, stop) the content lines removed.
	start, end, tail, stop int
	quote                  byte // '"', '\'' or 0 (plain; block scalars become plain)
}

// secretsLayoutError is a file whose secrets cannot be rewritten in place.
type secretsLayoutError struct {
	File string
	Line int
	Msg  string
}

func (e *secretsLayoutError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// locateSecrets finds the encryptedSecrets of an application config
// (file names it in errors). A file without any returns none.
func locateSecrets(file string, data []byte) ([]storedSecret, error) {
	fail := func(line int, format string, args ...any) error {
		return &secretsLayoutError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fail(0, "not valid YAML: %v (run `pipe validate`)", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fail(extra.Line, "holds more than one YAML document; an application config holds one")
	}
	node := &doc
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	for _, name := range []string{"spec", "encryption", "encryptedSecrets"} {
		if node.Kind == yaml.AliasNode {
			return nil, fail(node.Line, "%s is an alias (*%s); write the secrets out to rotate them", name, node.Value)
		}
		if node.Kind != yaml.MappingNode {
			return nil, nil
		}
		_, v := mappingValue(node, name)
		if v == nil {
			return nil, nil
		}
		node = v
	}
	switch {
	case node.Kind == yaml.AliasNode:
		return nil, fail(node.Line, "encryptedSecrets is an alias (*%s); write the secrets out to rotate them", node.Value)
	case node.Kind == yaml.ScalarNode && node.Tag == "!!null":
		return nil, nil
	case node.Kind != yaml.MappingNode:
		return nil, fail(node.Line, "encryptedSecrets is not a mapping of names to ciphertexts")
	}
	lines := lineStarts(data)
	var out []storedSecret
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			return nil, fail(k.Line, "encryptedSecrets holds a merge key or a non-scalar key; write every secret out to rotate them")
		}
		if v.Kind == yaml.AliasNode || v.Anchor != "" {
			return nil, fail(v.Line, "secret %q is an alias or an anchor; write each ciphertext out to rotate it", k.Value)
		}
		if v.Kind != yaml.ScalarNode {
			return nil, fail(v.Line, "secret %q is not a ciphertext string", k.Value)
		}
		s, err := locateScalar(data, lines, k, v)
		if err != nil {
			return nil, fail(v.Line, "secret %q: %v", k.Value, err)
		}
		s.Name = k.Value
		out = append(out, s)
	}
	return out, nil
}

func mappingValue(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// breakLen is the length of the line break at data[i] as YAML (yaml.v3)
// counts them: \r\n, \r, \n, NEL, LS and PS; 0 when none.
func breakLen(data []byte, i int) int {
	switch {
	case i >= len(data):
		return 0
	case data[i] == '\r':
		if i+1 < len(data) && data[i+1] == '\n' {
			return 2
		}
		return 1
	case data[i] == '\n':
		return 1
	case bytes.HasPrefix(data[i:], []byte("\u0085")):
		return 2
	case bytes.HasPrefix(data[i:], []byte("\u2028")), bytes.HasPrefix(data[i:], []byte("\u2029")):
		return 3
	}
	return 0
}

// lineStarts returns the byte offset of each line (index 0 is line 1).
// yaml.v3 does not count a leading byte order mark in columns.
func lineStarts(data []byte) []int {
	first := 0
	if bytes.HasPrefix(data, []byte("\ufeff")) {
		first = 3
	}
	starts := []int{first}
	for i := first; i < len(data); {
		if n := breakLen(data, i); n > 0 {
			i += n
			starts = append(starts, i)
			continue
		}
		i++
	}
	return starts
}

// lineEnd is the offset of the line break ending the line holding i (or len).
func lineEnd(data []byte, i int) int {
	for i < len(data) && breakLen(data, i) == 0 {
		i++
	}
	return i
}

// offsetOf converts yaml.v3's 1-based line and column (in characters) to
// a byte offset.
func offsetOf(data []byte, lines []int, line, col int) (int, bool) {
	if line < 1 || line > len(lines) || col < 1 {
		return 0, false
	}
	i := lines[line-1]
	for c := 1; c < col; c++ {
		if i >= len(data) || breakLen(data, i) > 0 {
			return 0, false
		}
		_, n := utf8.DecodeRune(data[i:])
		i += n
	}
	return i, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// locateScalar finds the bytes of the scalar value v of key k.
func locateScalar(data []byte, lines []int, k, v *yaml.Node) (storedSecret, error) {
	s := storedSecret{Value: v.Value, Line: v.Line}
	i, ok := offsetOf(data, lines, v.Line, v.Column)
	if !ok {
		return s, errors.New("its position is outside the file")
	}
	// Skip the node's properties (a tag such as !!str); they are kept.
	for i < len(data) && data[i] == '!' {
		for i < len(data) && !isSpace(data[i]) && breakLen(data, i) == 0 {
			i++
		}
		for i < len(data) && (isSpace(data[i]) || breakLen(data, i) > 0) {
			i += max(1, breakLen(data, i))
		}
	}
	s.start = i
	switch {
	case v.Style&yaml.DoubleQuotedStyle != 0:
		s.quote = '"'
		if i >= len(data) || data[i] != '"' {
			return s, errors.New("cannot find its opening quote")
		}
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				s.end, s.tail, s.stop = j+1, j+1, j+1
				return s, nil
			}
		}
		return s, errors.New("cannot find its closing quote")
	case v.Style&yaml.SingleQuotedStyle != 0:
		s.quote = '\''
		if i >= len(data) || data[i] != '\'' {
			return s, errors.New("cannot find its opening quote")
		}
		for j := i + 1; j < len(data); j++ {
			if data[j] == '\'' {
				if j+1 < len(data) && data[j+1] == '\'' {
					j++
					continue
				}
				s.end, s.tail, s.stop = j+1, j+1, j+1
				return s, nil
			}
		}
		return s, errors.New("cannot find its closing quote")
	case v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return locateBlock(data, lines, k, s)
	}
	// A plain scalar: match its folded value against the source; a line
	// break and the indentation around it read as one space.
	j, val := i, v.Value
	for n := 0; n < len(val); {
		switch {
		case j < len(data) && data[j] == val[n]:
			j++
			n++
		case val[n] == ' ' && j < len(data) && (isSpace(data[j]) || breakLen(data, j) > 0):
			for j < len(data) && (isSpace(data[j]) || breakLen(data, j) > 0) {
				j += max(1, breakLen(data, j))
			}
			n++
		default:
			return s, errors.New("its text does not match the file (a plain scalar spread over lines with blank lines?)")
		}
	}
	s.end, s.tail, s.stop = j, j, j
	return s, nil
}

// locateBlock finds a literal (|) or folded (>) block scalar: the
// indicator is replaced, the rest of its line (a comment) kept, and the
// content lines removed.
func locateBlock(data []byte, lines []int, k *yaml.Node, s storedSecret) (storedSecret, error) {
	i := s.start
	if i >= len(data) || (data[i] != '|' && data[i] != '>') {
		return s, errors.New("cannot find its block indicator")
	}
	i++
	explicit := 0
	for i < len(data) && (data[i] == '+' || data[i] == '-' || data[i] >= '1' && data[i] <= '9') {
		if data[i] >= '1' && data[i] <= '9' {
			explicit = int(data[i] - '0')
		}
		i++
	}
	s.end = i
	s.tail = lineEnd(data, i)
	s.stop = s.tail
	parent := k.Column - 1 // the block mapping's indentation
	next := s.tail + breakLen(data, s.tail)
	indent := -1
	if explicit > 0 {
		indent = parent + explicit
	}
	for next < len(data) {
		e := lineEnd(data, next)
		n := 0
		for next+n < e && data[next+n] == ' ' {
			n++
		}
		blank := next+n == e
		if !blank {
			if indent < 0 {
				indent = n
				if indent <= parent {
					break
				}
			}
			if n < indent {
				break
			}
			s.stop = e
		}
		if e >= len(data) {
			break
		}
		next = e + breakLen(data, e)
	}
	return s, nil
}

// spliceSecrets replaces the ciphertexts of secrets in data by values
// (by name; names absent keep their value) and checks the result: it must
// parse to the same document with only those values changed.
func spliceSecrets(file string, data []byte, secrets []storedSecret, values map[string]string) ([]byte, error) {
	if len(values) == 0 {
		return data, nil
	}
	var out bytes.Buffer
	out.Grow(len(data))
	last := 0
	for _, s := range secrets {
		nv, ok := values[s.Name]
		if !ok {
			continue
		}
		if s.start < last {
			return nil, &secretsLayoutError{File: file, Line: s.Line, Msg: fmt.Sprintf("secret %q overlaps another one", s.Name)}
		}
		out.Write(data[last:s.start])
		out.WriteString(yamlScalar(nv, s.quote))
		out.Write(data[s.end:s.tail])
		last = s.stop
	}
	out.Write(data[last:])
	res := out.Bytes()
	if err := checkSplice(data, res, values); err != nil {
		return nil, &secretsLayoutError{File: file, Msg: "cannot rewrite the secrets in place safely (" + err.Error() + "); re-encrypt them with `pipe secret encrypt` and edit the file by hand"}
	}
	return res, nil
}

// yamlScalar writes a ciphertext in the quoting style it had when that is
// safe for it; a value that would not read back as the same string is
// double-quoted (JSON escaping is valid YAML).
func yamlScalar(v string, quote byte) string {
	switch {
	case quote == '\'' && !strings.ContainsAny(v, "'\r\n"):
		return "'" + v + "'"
	case quote == 0 && plainSafe(v):
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// plainSafe reports whether v reads back as the same string when written
// plain, in block and in flow context.
func plainSafe(v string) bool {
	if v == "" || strings.ContainsAny(v, " \t\r\n,[]{}#\"'") || strings.ContainsAny(v[:1], "-?:&*!|>%@`") {
		return false
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("v: "+v), &n); err != nil || len(n.Content) != 1 || len(n.Content[0].Content) != 2 {
		return false
	}
	val := n.Content[0].Content[1]
	return val.Kind == yaml.ScalarNode && val.ShortTag() == "!!str" && val.Value == v
}

// checkSplice checks that after reads as before with only the secrets of
// values changed, to them.
func checkSplice(before, after []byte, values map[string]string) error {
	var b, a any
	if err := yaml.Unmarshal(before, &b); err != nil {
		return err
	}
	if err := yaml.Unmarshal(after, &a); err != nil {
		return fmt.Errorf("the result is not valid YAML: %v", err)
	}
	secrets := secretsMap(b)
	if secrets == nil {
		return errors.New("no encryptedSecrets found")
	}
	for name, v := range values {
		if _, ok := secrets[name]; !ok {
			return fmt.Errorf("no secret %q", name)
		}
		secrets[name] = v
	}
	if !reflect.DeepEqual(a, b) {
		return errors.New("the rewritten file reads differently")
	}
	return nil
}

// secretsMap is spec.encryption.encryptedSecrets of a decoded document.
func secretsMap(doc any) map[string]any {
	cur := doc
	for _, k := range []string{"spec", "encryption", "encryptedSecrets"} {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	m, _ := cur.(map[string]any)
	return m
}
