package config

import (
	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/yamlalias"
)

// checkAliases refuses, at the alias responsible, a document whose aliases
// and merge keys would expand without bound (see package yamlalias): the
// decoder follows every alias, and trusts the documents that pass.
func checkAliases(file string, doc *yaml.Node) *Diagnostic {
	e := yamlalias.Check(doc)
	if e == nil {
		return nil
	}
	return &Diagnostic{File: file, Line: e.Line, Column: e.Column, Severity: SeverityError, Message: e.Message, Hint: e.Hint}
}
