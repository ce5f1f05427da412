// Package yamlalias bounds what YAML anchors (&a), aliases (*a) and merge
// keys (<<: *a) make of a document. An alias repeats its anchor's whole
// value, so aliases of aliases multiply: a file of a few hundred bytes can
// stand for billions of nodes (the "billion laughs"), and an alias inside
// its own anchor's value stands for an infinite one. Decoders that follow
// every alias (pipe's config decoder, kustomize's) run such documents
// through Check first. Real files reuse a stage or a few labels a handful
// of times, far below the limits.
package yamlalias

import (
	"bytes"
	"fmt"

	"gopkg.in/yaml.v3"
)

const (
	// MaxNodes bounds how many nodes aliases may add to a file beyond the
	// ones written in it.
	MaxNodes = 250_000
	// MaxDepth bounds how deeply aliases nest (an alias of a value holding
	// an alias of a value holding an alias...).
	MaxDepth = 32
)

// Error is an alias Check refuses, at the alias (1-based line and column).
type Error struct {
	Line, Column int
	Message      string
	// Hint says what to do.
	Hint string
}

func (e *Error) Error() string {
	return fmt.Sprintf("line %d, column %d: %s (%s)", e.Line, e.Column, e.Message, e.Hint)
}

// Checker checks the documents of one file: the MaxNodes budget is shared
// by all of them. The zero value is ready to use.
type Checker struct {
	// open holds the anchored nodes being walked: the ancestors that an
	// alias may not point to.
	open map[*yaml.Node]bool
	// done holds the expansion of every anchored node walked.
	done map[*yaml.Node]expansion
	// added counts the nodes aliases add, in document order.
	added int
	err   *Error
}

// expansion is what a node stands for once every alias in it is followed.
type expansion struct {
	size  int // nodes, itself included; saturates above MaxNodes
	depth int // aliases nested along the deepest path
}

// sizeLimit is where sizes stop being counted: past it, the file is refused.
const sizeLimit = MaxNodes + 1

// Check walks doc as written (following no alias) and refuses, at the alias
// responsible, a cycle (an alias inside the value of its own anchor),
// aliases nested deeper than MaxDepth, or aliases that add more than
// MaxNodes nodes to the file so far. It takes time linear in the written
// document: the expanded size of each anchored value is computed once. A
// document it accepts can be decoded by following every alias and merge key
// without further checks. Once it has refused a document, it refuses every
// later one with the same error.
func (c *Checker) Check(doc *yaml.Node) *Error {
	if c.err == nil {
		if c.open == nil {
			c.open, c.done = map[*yaml.Node]bool{}, map[*yaml.Node]expansion{}
		}
		c.walk(doc)
	}
	return c.err
}

// Check checks one document.
func Check(doc *yaml.Node) *Error {
	var c Checker
	return c.Check(doc)
}

// CheckStream checks every document of a YAML stream, returning the
// *Error of the first refused. Data that is not YAML is not its business:
// it returns nil at the first syntax error, for the caller's parser to
// report.
func CheckStream(data []byte) error {
	if bytes.IndexByte(data, '*') < 0 {
		// No alias (written *name): nothing to expand, nothing to parse.
		return nil
	}
	var c Checker
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			// io.EOF: all checked; else not YAML, left to the caller.
			return nil
		}
		if err := c.Check(&doc); err != nil {
			return err
		}
	}
}

func (c *Checker) walk(n *yaml.Node) expansion {
	if n == nil || c.err != nil {
		return expansion{}
	}
	if n.Kind == yaml.AliasNode {
		return c.alias(n)
	}
	if n.Anchor != "" {
		c.open[n] = true
		defer delete(c.open, n)
	}
	e := expansion{size: 1}
	for _, child := range n.Content {
		ce := c.walk(child)
		if c.err != nil {
			return e
		}
		e.size = min(e.size+ce.size, sizeLimit)
		e.depth = max(e.depth, ce.depth)
	}
	if n.Anchor != "" {
		c.done[n] = e
	}
	return e
}

func (c *Checker) alias(n *yaml.Node) expansion {
	target := n.Alias
	if target == nil {
		return expansion{size: 1}
	}
	if c.open[target] {
		c.fail(n, fmt.Sprintf("alias *%s expands into itself", n.Value),
			fmt.Sprintf("it is inside the value of its anchor &%s (line %d), which would then hold itself forever; alias a value that is complete before the alias", target.Anchor, target.Line))
		return expansion{}
	}
	e, ok := c.done[target]
	if !ok {
		// Every anchor is written, hence walked, before its aliases; a
		// target not walked yet is one being walked, handled above.
		e = c.walk(target)
	}
	e.depth++
	if e.depth > MaxDepth {
		c.fail(n, fmt.Sprintf("aliases nest more than %d deep here (alias *%s)", MaxDepth, n.Value),
			"each level of aliases of aliases multiplies the document; write the repeated values out, or alias fewer levels")
		return expansion{}
	}
	c.added = min(c.added+e.size-1, sizeLimit)
	if c.added > MaxNodes {
		c.fail(n, fmt.Sprintf("anchors and aliases expand this document past %d nodes (here, alias *%s)", MaxNodes, n.Value),
			"each alias repeats its anchor's whole value and aliases of aliases multiply (a \"billion laughs\"); write the repeated values out, or alias fewer levels")
		return expansion{}
	}
	return e
}

func (c *Checker) fail(n *yaml.Node, msg, hint string) {
	c.err = &Error{Line: n.Line, Column: n.Column, Message: msg, Hint: hint}
}
