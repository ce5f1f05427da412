package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("  s3cr3t-value\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return map[string]string{"TOKEN": "env-value\n", "BLANK": " "}[k] }
	for _, c := range []struct {
		name    string
		file    HostPath
		env     EnvVar
		want    string
		wantErr string
	}{
		{"file", HostPath(file), "", "s3cr3t-value", ""},
		{"env", "", "TOKEN", "env-value", ""},
		{"neither", "", "", "", ""},
		{"missing file", HostPath(filepath.Join(dir, "nope")), "", "", "cannot read " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"empty file", HostPath(empty), "", "", empty + " is empty"},
		{"device", "/dev/zero", "", "", "/dev/zero is a character device"},
		{"unset", "", "UNSET", "", "the environment variable UNSET is not set"},
		{"blank", "", "BLANK", "", "the environment variable BLANK is not set"},
	} {
		got, err := ReadSecret(c.file, c.env, getenv)
		switch {
		case c.wantErr == "" && (err != nil || got != c.want):
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || got != ""):
			t.Errorf("%s: %q, %v; want an error saying %q", c.name, got, err, c.wantErr)
		case err != nil && strings.Contains(err.Error(), "s3cr3t"):
			t.Errorf("%s: the error shows the secret: %v", c.name, err)
		}
	}
}
