package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"

	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/fieldedit"
)

// storedSecret is one spec.encryption.encryptedSecrets entry of an
// application config file, located in the file's bytes so that its
// ciphertext can be replaced without touching any other byte.
type storedSecret struct {
	Name  string
	Value string // the ciphertext, as YAML reads it
	Line  int    // of the value, 1-based
	// span is where the value is written; a block scalar's header is
	// replaced by the new scalar, the rest of its line (a comment) kept
	// and its content lines removed.
	span  fieldedit.Span
	style yaml.Style // quoted styles are kept; block scalars become plain
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
	src := fieldedit.NewSource(data)
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
		s, err := locateSecret(src, k, v)
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

// locateSecret finds the bytes of the scalar value v of key k.
func locateSecret(src *fieldedit.Source, k, v *yaml.Node) (storedSecret, error) {
	sp, err := src.Locate(v, k.Column-1)
	if err != nil {
		return storedSecret{}, err
	}
	style := v.Style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)
	return storedSecret{Value: v.Value, Line: v.Line, span: sp, style: style}, nil
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
		sp := s.span
		if sp.Start < last || sp.End < sp.Start || sp.Tail < sp.End || sp.Stop < sp.Tail || sp.Stop > len(data) {
			return nil, &secretsLayoutError{File: file, Line: s.Line, Msg: fmt.Sprintf("secret %q overlaps another one", s.Name)}
		}
		out.Write(data[last:sp.Start])
		out.WriteString(fieldedit.FormatScalar(nv, s.style, "!!str", true))
		out.Write(data[sp.End:sp.Tail])
		last = sp.Stop
	}
	out.Write(data[last:])
	res := out.Bytes()
	if err := checkSplice(data, res, values); err != nil {
		return nil, &secretsLayoutError{File: file, Msg: "cannot rewrite the secrets in place safely (" + err.Error() + "); re-encrypt them with `pipe secret encrypt` and edit the file by hand"}
	}
	return res, nil
}

// yamlScalar writes v as a YAML string in the quoting style quote (a
// double quote, a single quote, or 0 for plain) when it reads back as the
// same string there (in block and flow context alike), double-quoted
// otherwise.
func yamlScalar(v string, quote byte) string {
	style := yaml.Style(0)
	switch quote {
	case '"':
		style = yaml.DoubleQuotedStyle
	case '\'':
		style = yaml.SingleQuotedStyle
	}
	return fieldedit.FormatScalar(v, style, "!!str", true)
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
