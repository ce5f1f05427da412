package ecs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// FuzzReadDefinition: a task or service definition from a pull request
// never panics or hangs the reader, whatever it holds.
func FuzzReadDefinition(f *testing.F) {
	for _, s := range []string{serviceDef, taskDef("v1", "      - {name: A, value: b}\n"), "a: &a [*a]\n", "cpu: 256\ncommand: x\n",
		"containerDefinitions: [{name: web, image: x, portMappings: [{containerPort: \"80\"}]}]\n", "{", "- 1\n", "family: [1, {a: b}]\n"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { root.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "def.yaml"), data, 0o644); err != nil {
			t.Skip()
		}
		var td types.TaskDefinition
		_, _ = readDoc(root, "def.yaml", &td, nil)
		s := &ServiceDef{}
		_, _ = readDoc(root, "def.yaml", &s.Service, map[string]*string{"cluster": nil, "role": nil})
	})
}
