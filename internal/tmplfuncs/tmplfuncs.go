// Package tmplfuncs is the function set of the Go templates pipe executes
// from a repository's files (unseal's sources, the release name template
// of a kustomization's helmCharts): Sprig's text functions, less those
// that read the process's environment or the network.
package tmplfuncs

import (
	"sync"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// Withheld are the Sprig functions that read the process's environment or
// the network: a template would otherwise put a CI secret
// (`{{ env "GITHUB_TOKEN" }}`) into a rendered file.
var Withheld = []string{"env", "expandenv", "getHostByName"}

// Sprig returns Sprig's text functions less the Withheld ones, built on
// first use (Sprig builds a map of some 200 functions). The map is shared:
// give it to template.Funcs (which copies it), never change it.
var Sprig = sync.OnceValue(func() template.FuncMap {
	m := sprig.TxtFuncMap()
	for _, f := range Withheld {
		delete(m, f)
	}
	return m
})
