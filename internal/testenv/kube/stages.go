package kube

import (
	"bytes"
	"embed"
	"io/fs"
)

// stageFiles are KWOK's default stages (see stages/README.md): nodes become
// and stay Ready (with leases), pods on them go Pending -> Running/Ready at
// once, complete when their containers would, and are removed on deletion.
//
//go:embed stages/*.yaml
var stageFiles embed.FS

// kwokStages is KWOK's --config file: the stages as one multi-document YAML.
func kwokStages() []byte {
	names, _ := fs.Glob(stageFiles, "stages/*.yaml")
	var buf bytes.Buffer
	for _, name := range names {
		b, err := stageFiles.ReadFile(name)
		if err != nil {
			panic(err) // embedded
		}
		buf.WriteString("---\n")
		buf.Write(bytes.TrimRight(b, "\n"))
		buf.WriteString("\n")
	}
	return buf.Bytes()
}
