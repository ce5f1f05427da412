package fsafe

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// within fails the test when f does not return within a few seconds (a
// read that blocks on a named pipe would hang forever).
func within(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the read blocked")
		return nil
	}
}

func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := makeFifo(p); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ok.yaml", "a: 1\n")
	write("big.yaml", strings.Repeat("x", 101))
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cr3t"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, filepath.Join(dir, "fifo"))
	for name, target := range map[string]string{
		"link.yaml":   "ok.yaml",
		"sub/up.yaml": "../ok.yaml",
		"out":         filepath.Join(outside, "secret"),
		"rel-out":     "../" + filepath.Base(outside) + "/secret",
		"fifo-link":   "fifo",
		"zero":        "/dev/zero",
	} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()

	for _, name := range []string{"ok.yaml", "link.yaml", "sub/up.yaml"} {
		b, err := ReadFile(root, name, 100)
		if err != nil || string(b) != "a: 1\n" {
			t.Errorf("%s = %q, %v", name, b, err)
		}
	}
	for _, c := range []struct {
		name string
		want []string
		is   error
	}{
		{"big.yaml", []string{"big.yaml is 101 bytes, more than the 100 bytes pipe reads from one file"}, nil},
		{"fifo", []string{"fifo is a named pipe, not a regular file"}, ErrNotRegular},
		{"fifo-link", []string{"fifo-link is a named pipe, not a regular file"}, ErrNotRegular},
		{"sub", []string{"sub is a directory, not a regular file"}, ErrNotRegular},
		{"out", []string{"out leads outside"}, ErrOutside},
		{"rel-out", []string{"rel-out leads outside"}, ErrOutside},
		{"../" + filepath.Base(outside) + "/secret", []string{"secret leads outside"}, ErrOutside},
		{"zero", []string{"zero leads outside"}, ErrOutside},
	} {
		err := within(t, func() error { _, err := ReadFile(root, c.name, 100); return err })
		if err == nil {
			t.Errorf("%s: read succeeded", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error %q holds the content", c.name, err)
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: error %q is not %v", c.name, err, c.is)
		}
	}
	var tl *TooLargeError
	if _, err := ReadFileIn(dir, "big.yaml", 100); !errors.As(err, &tl) || tl.Size != 101 || tl.Max != 100 {
		t.Errorf("ReadFileIn big.yaml: %v", err)
	}
	if b, err := ReadFileIn(dir, "big.yaml", 101); err != nil || len(b) != 101 {
		t.Errorf("ReadFileIn big.yaml at its size: %d bytes, %v", len(b), err)
	}
}

func TestReadHostFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "password")
	if err := os.WriteFile(p, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadHostFile(p, MaxSecretSize); err != nil || string(b) != "hunter2\n" {
		t.Errorf("= %q, %v", b, err)
	}
	if _, err := ReadHostFile(p, 4); err == nil || !strings.Contains(err.Error(), p+" is 8 bytes, more than the 4 bytes") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("capped: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	mkfifo(t, fifo)
	for _, name := range []string{fifo, "/dev/zero", dir} {
		err := within(t, func() error { _, err := ReadHostFile(name, MaxSecretSize); return err })
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A file whose size says nothing of its content (procfs reports 0)
	// is capped while it is read.
	if runtime.GOOS == "linux" {
		var tl *TooLargeError
		_, err := ReadHostFile("/proc/self/status", 16)
		if !errors.As(err, &tl) || !tl.Grew || !strings.Contains(err.Error(), "/proc/self/status is larger than the 16 bytes") {
			t.Errorf("/proc/self/status: %v", err)
		}
	}
	if _, err := ReadHostFile(filepath.Join(dir, "none"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{700: "700 bytes", 64 << 10: "64 KiB", 16 << 20: "16 MiB", 5<<20 + 1<<19: "5.5 MiB (5767168 bytes)", 1500: "1500 bytes"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// BenchmarkRead compares a read through ReadFileIn (an os.Root opened for
// the read, a regular-file check, a cap) with os.ReadFile, for a 4 KiB
// manifest.
func BenchmarkRead(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.yaml"), []byte(strings.Repeat("a: 1\n", 800)), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("os.ReadFile", func(b *testing.B) {
		for b.Loop() {
			if _, err := os.ReadFile(filepath.Join(dir, "m.yaml")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ReadFileIn", func(b *testing.B) {
		for b.Loop() {
			if _, err := ReadFileIn(dir, "m.yaml", MaxFileSize); err != nil {
				b.Fatal(err)
			}
		}
	})
}
