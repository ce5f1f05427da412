package fieldedit

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// describe says what a node is, without its value (which may be private).
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return "an empty mapping"
		}
		return fmt.Sprintf("a mapping (%s)", keysOf(n))
	case yaml.SequenceNode:
		return fmt.Sprintf("a sequence of %s", plural(len(n.Content), "item"))
	case yaml.AliasNode:
		return fmt.Sprintf("an alias (*%s)", n.Value)
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	}
	return "a scalar " + n.ShortTag()
}

// keysOf lists a mapping's keys for a message.
func keysOf(n *yaml.Node) string {
	var keys []string
	for k := 0; k+1 < len(n.Content); k += 2 {
		if key := n.Content[k]; key.Kind == yaml.ScalarNode {
			keys = append(keys, pathKey(key.Value))
		}
	}
	if len(keys) == 0 {
		return "it has no keys"
	}
	return "keys: " + list(keys)
}

func mergeHint(n *yaml.Node) string {
	for k := 0; k+1 < len(n.Content); k += 2 {
		if n.Content[k].ShortTag() == "!!merge" {
			return "; keys merged in with << are not edited here: edit the anchored value they come from"
		}
	}
	return ""
}
