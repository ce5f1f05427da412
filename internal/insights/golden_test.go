package insights

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update rewrites the package's golden files under testdata (go test
// ./internal/insights -update); shared by every golden test of the package.
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/insights -update creates it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test ./internal/insights -update rewrites it, then review git diff)", name)
	}
}
