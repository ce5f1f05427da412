// Package schema holds the JSON Schemas (draft 2020-12) of pipe's
// configuration kinds, one <Kind>.json file each, for editors and linters:
// the files are published at config.SchemaBaseURL and embedded in the
// binary (`pipe schema`). They are generated from internal/config's types
// at build time by internal/config/schemagen (`make schema`) and committed;
// schemagen's tests fail when they are stale.
package schema

import (
	"embed"
	"sort"
	"strings"
)

//go:embed *.json
var files embed.FS

// JSON returns the committed schema of a kind (e.g. "KubernetesApp"), false
// when there is none.
func JSON(kind string) ([]byte, bool) {
	if kind == "" || strings.ContainsAny(kind, `/\.`) {
		return nil, false
	}
	b, err := files.ReadFile(kind + ".json")
	if err != nil {
		return nil, false
	}
	return b, true
}

// Kinds lists the kinds that have a schema, sorted.
func Kinds() []string {
	// Reading the root of an embed.FS cannot fail.
	entries, _ := files.ReadDir(".")
	var kinds []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			kinds = append(kinds, name)
		}
	}
	sort.Strings(kinds)
	return kinds
}
