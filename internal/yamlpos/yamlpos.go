// Package yamlpos locates what a decoder names in a YAML document: the
// key an "unknown field" error is about, for a file:line:column.
package yamlpos

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// FindKey returns the first mapping key named key (case-insensitively, as
// encoding/json matches fields), depth first; nil when there is none.
func FindKey(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.EqualFold(n.Content[i].Value, key) {
				return n.Content[i]
			}
		}
	}
	for _, c := range n.Content {
		if f := FindKey(c, key); f != nil {
			return f
		}
	}
	return nil
}

var unknownFieldRe = regexp.MustCompile(`unknown field "([^"]+)"`)

// UnknownField returns the field an encoding/json "unknown field" error
// names; "" for other errors.
func UnknownField(err error) string {
	if err == nil {
		return ""
	}
	if m := unknownFieldRe.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}

// At is "file:line:column" of key in root, or file when it is not found.
func At(file string, root *yaml.Node, key string) string {
	if key != "" {
		if n := FindKey(root, key); n != nil {
			return fmt.Sprintf("%s:%d:%d", file, n.Line, n.Column)
		}
	}
	return file
}
