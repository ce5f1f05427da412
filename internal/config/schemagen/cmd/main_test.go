package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	if code := run([]string{"-dir", dir}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "wrote "+filepath.Join(dir, "KubernetesApp.json")) {
		t.Errorf("stderr = %q, want the files written", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "Pipe.json")); err != nil {
		t.Error(err)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"-nope"}} {
		var stderr bytes.Buffer
		if code := run(args, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr.String())
		}
	}
}

func TestRunFailure(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"-dir", filepath.Join(file, "x")}, &stderr); code != 1 || !strings.Contains(stderr.String(), "schemagen: creating the schema directory") {
		t.Errorf("exit %d, stderr %q; want 1 and the error", code, stderr.String())
	}
}
