package schemagen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/schema"
)

// TestCommittedSchemasUpToDate fails when the committed schema/ files (the
// ones the binary embeds) differ from what the Go types generate.
func TestCommittedSchemasUpToDate(t *testing.T) {
	var kinds []string
	for _, k := range config.AllKinds() {
		kinds = append(kinds, string(k))
		got, err := JSON(k)
		if err != nil {
			t.Fatal(err)
		}
		committed, ok := schema.JSON(string(k))
		if !ok {
			t.Errorf("schema/%s.json is missing: run `make schema` and commit the result", k)
			continue
		}
		if !bytes.Equal(got, committed) {
			t.Errorf("schema/%s.json differs from what internal/config's types generate (%s): run `make schema` and commit the result",
				k, firstDifference(committed, got))
		}
	}
	for _, k := range schema.Kinds() {
		if !slices.Contains(kinds, k) {
			t.Errorf("schema/%s.json is the schema of no kind: delete it and run `make schema`", k)
		}
	}
}

// firstDifference describes the first line where the committed file and
// the generated one differ.
func firstDifference(committed, generated []byte) string {
	c := strings.Split(string(committed), "\n")
	g := strings.Split(string(generated), "\n")
	for i := 0; i < max(len(c), len(g)); i++ {
		var cl, gl string
		if i < len(c) {
			cl = c[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if cl != gl {
			return fmt.Sprintf("line %d: committed %q, generated %q", i+1, strings.TrimSpace(cl), strings.TrimSpace(gl))
		}
	}
	return "same lines"
}

func TestJSONUnknownKind(t *testing.T) {
	_, err := JSON("Nope")
	if err == nil || !strings.Contains(err.Error(), `unknown kind "Nope"`) {
		t.Fatalf("err = %v, want unknown kind", err)
	}
}

// TestHooks checks what the Mapper and the extensions add, in the
// documents where each occurs.
func TestHooks(t *testing.T) {
	doc := func(k config.Kind) map[string]any {
		b, err := JSON(k)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	stage := func(k config.Kind, name string) map[string]any {
		spec := doc(k)["properties"].(map[string]any)["spec"].(map[string]any)["properties"].(map[string]any)
		stages := spec["pipeline"].(map[string]any)["properties"].(map[string]any)["stages"].(map[string]any)["items"].(map[string]any)
		for _, alt := range stages["oneOf"].([]any) {
			a := alt.(map[string]any)
			if a["properties"].(map[string]any)["name"].(map[string]any)["const"] == name {
				return a
			}
		}
		t.Fatalf("%s: no %s stage in the schema", k, name)
		return nil
	}

	canary := stage(config.KindECSApp, string(config.StageECSCanaryRollout))
	with := canary["properties"].(map[string]any)["with"].(map[string]any)
	if !slices.Contains(with["required"].([]any), any("scale")) {
		t.Errorf("ECS_CANARY_ROLLOUT with: required = %v, want scale (the extension)", with["required"])
	}
	if !slices.Contains(canary["required"].([]any), any("with")) {
		t.Errorf("ECS_CANARY_ROLLOUT: required = %v, want with", canary["required"])
	}
	scale := with["properties"].(map[string]any)["scale"].(map[string]any)
	if len(scale["oneOf"].([]any)) != 2 {
		t.Errorf("scale (a Percentage) = %v, want the percentage schema", scale)
	}
	wait := stage(config.KindKubernetesApp, string(config.StageWait))
	timeout := wait["properties"].(map[string]any)["timeout"].(map[string]any)
	if timeout["type"] != "string" || timeout["pattern"] == nil {
		t.Errorf("stage timeout (a Duration) = %v, want the duration schema", timeout)
	}

	pipe := doc(config.KindPipe)["properties"].(map[string]any)["spec"].(map[string]any)["properties"].(map[string]any)
	providers := pipe["platformProviders"].(map[string]any)["items"].(map[string]any)["oneOf"].([]any)
	if len(providers) != len(config.PlatformProviderConfigs()) {
		t.Errorf("platformProviders: %d alternatives, want one per type (%d)", len(providers), len(config.PlatformProviderConfigs()))
	}
	for _, p := range providers {
		if _, ok := p.(map[string]any)["properties"].(map[string]any)["config"]; !ok {
			t.Errorf("platform provider alternative without config: %v", p)
		}
	}
	secrets := pipe["secretManagement"].(map[string]any)["oneOf"].([]any)
	if len(secrets) != len(config.SecretManagementConfigs()) {
		t.Errorf("secretManagement: %d alternatives, want %d", len(secrets), len(config.SecretManagementConfigs()))
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	written, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != len(config.AllKinds()) {
		t.Fatalf("wrote %v, want one file per kind", written)
	}
	for _, k := range config.AllKinds() {
		b, err := os.ReadFile(filepath.Join(dir, string(k)+".json"))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := JSON(k)
		if !bytes.Equal(b, want) {
			t.Errorf("%s.json differs from JSON(%s)", k, k)
		}
	}
}

func TestWriteFailure(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Write(filepath.Join(file, "schema"))
	if err == nil || !strings.Contains(err.Error(), "creating the schema directory") {
		t.Fatalf("err = %v, want a directory error", err)
	}
}
