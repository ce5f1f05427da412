package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Limits on what anchors (&a), aliases (*a) and merge keys (<<: *a) may do
// to a document. An alias repeats its anchor's whole value, so aliases of
// aliases multiply: a file of a few hundred bytes can stand for billions of
// nodes (the "billion laughs"), and an alias inside its own anchor stands
// for an infinite one. Real configurations reuse a stage or a few labels a
// handful of times, far below these limits.
const (
	// MaxAliasNodes bounds how many nodes aliases may add to a document
	// beyond the ones written in it.
	MaxAliasNodes = 250_000
	// MaxAliasDepth bounds how deeply aliases nest (an alias of a value
	// holding an alias of a value holding an alias...).
	MaxAliasDepth = 32
)

// checkAliases walks the document as written (following no alias) and
// refuses, at the alias responsible, a cycle (an alias inside the value of
// its own anchor), aliases nested deeper than MaxAliasDepth, or a document
// whose aliases expand it by more than MaxAliasNodes. It takes time linear
// in the written document: the expanded size of each anchored value is
// computed once. A document it accepts can be decoded by following every
// alias and merge key without further checks.
func checkAliases(file string, doc *yaml.Node) *Diagnostic {
	c := aliasCheck{file: file, open: map[*yaml.Node]bool{}, done: map[*yaml.Node]expansion{}}
	c.walk(doc)
	return c.diag
}

// expansion is what a node stands for once every alias in it is followed.
type expansion struct {
	size  int // nodes, itself included; saturates above MaxAliasNodes
	depth int // aliases nested along the deepest path
}

type aliasCheck struct {
	file string
	// open holds the anchored nodes being walked: the ancestors that an
	// alias may not point to.
	open map[*yaml.Node]bool
	// done holds the expansion of every anchored node walked.
	done map[*yaml.Node]expansion
	// added counts the nodes aliases add to the document so far, in
	// document order.
	added int
	diag  *Diagnostic
}

// limit is where sizes stop being counted: past it, the document is refused.
const sizeLimit = MaxAliasNodes + 1

func (c *aliasCheck) walk(n *yaml.Node) expansion {
	if n == nil || c.diag != nil {
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
		if c.diag != nil {
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

func (c *aliasCheck) alias(n *yaml.Node) expansion {
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
	if e.depth > MaxAliasDepth {
		c.fail(n, fmt.Sprintf("aliases nest more than %d deep here (alias *%s)", MaxAliasDepth, n.Value),
			"each level of aliases of aliases multiplies the document; write the repeated values out, or alias fewer levels")
		return expansion{}
	}
	c.added = min(c.added+e.size-1, sizeLimit)
	if c.added > MaxAliasNodes {
		c.fail(n, fmt.Sprintf("anchors and aliases expand this document past %d nodes (here, alias *%s)", MaxAliasNodes, n.Value),
			"each alias repeats its anchor's whole value and aliases of aliases multiply (a \"billion laughs\"); write the repeated values out, or alias fewer levels")
		return expansion{}
	}
	return e
}

func (c *aliasCheck) fail(n *yaml.Node, msg, hint string) {
	c.diag = &Diagnostic{File: c.file, Line: n.Line, Column: n.Column, Severity: SeverityError, Message: msg, Hint: hint}
}
