package unseal

import (
	"os"

	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
)

// secretLines finds the line of each encrypted secret in the application's
// config file (spec.encryption.encryptedSecrets.NAME), for messages; an
// empty map when the file does not read.
func secretLines(r *os.Root, app *config.App) map[string]int {
	out := map[string]int{}
	b, err := fsafe.ReadFile(r, app.File, fsafe.MaxFileSize)
	if err != nil {
		return out
	}
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return out
	}
	secrets := child(child(child(doc.Content[0], "spec"), "encryption"), "encryptedSecrets")
	if secrets == nil || secrets.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(secrets.Content); i += 2 {
		out[secrets.Content[i].Value] = secrets.Content[i].Line
	}
	return out
}

// child is the value of key in the mapping n; nil when there is none.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
