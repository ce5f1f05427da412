package lambdazip

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree is a function's source: slash path -> content; a path ending in "*"
// is executable, "@target" content makes a symlink.
var tree = map[string]string{
	"hello-world/app.js":              "exports.lambdaHandler = async () => ({statusCode: 200});\n",
	"hello-world/bootstrap*":          "#!/bin/sh\nexec ./app\n",
	"hello-world/lib/util.js":         strings.Repeat("module.exports = 1;\n", 100),
	"hello-world/lib.js":              "// sorts before lib/ by slash path\n",
	"hello-world/node_modules/a/x.js": "",
	"hello-world/current":             "@lib/util.js",
	"hello-world/libdir":              "@lib",
	"hello-world/ünïcode.txt":         "utf-8 name\n",
	"hello-world/.git/HEAD":           "ref: refs/heads/main\n",
	"hello-world/sub/.git":            "gitdir: ../.git/modules/sub\n",
	"hello-world/sub/file.txt":        "in a submodule\n",
}

// write writes tree under dir in the order given, with the umask and the
// modification times the caller sets up.
func write(t testing.TB, dir string, files map[string]string, order []string, mtime time.Time) {
	t.Helper()
	for _, p := range order {
		content := files[p]
		exe := strings.HasSuffix(p, "*")
		p = strings.TrimSuffix(p, "*")
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o777); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "@"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		mode := fs.FileMode(0o666)
		if exe {
			mode = 0o777
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDirDeterministic(t *testing.T) {
	order := keys(tree)
	var archives []*Archive
	for i, umask := range []int{0o022, 0o077, 0o002} {
		old := syscall.Umask(umask)
		dir := t.TempDir()
		rand.New(rand.NewSource(int64(i))).Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		write(t, dir, tree, order, time.Date(2000+i, 3, 4, 5, 6, 7, 0, time.Local))
		syscall.Umask(old)
		a, err := Dir(filepath.Join(dir, "hello-world"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, a)
		if i < 2 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for i, a := range archives[1:] {
		if !bytes.Equal(a.Data, archives[0].Data) {
			t.Errorf("archive %d differs from archive 0", i+1)
		}
		if a.SHA256 != archives[0].SHA256 {
			t.Errorf("SHA256 %s != %s", a.SHA256, archives[0].SHA256)
		}
	}
	a := archives[0]
	sum := sha256.Sum256(a.Data)
	if a.SHA256 != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("SHA256 = %s", a.SHA256)
	}
	if a.Files != 9 {
		t.Errorf("Files = %d, want 9", a.Files)
	}
	var want int64
	for p, c := range tree {
		if !strings.Contains(p, ".git") {
			want += int64(len(strings.TrimPrefix(c, "@")))
		}
	}
	if a.Unzipped != want {
		t.Errorf("Unzipped = %d, want %d", a.Unzipped, want)
	}

	// A change of content, of an executable bit, of a name changes the bytes.
	dir := t.TempDir()
	write(t, dir, tree, keys(tree), time.Now())
	src := filepath.Join(dir, "hello-world")
	for _, change := range []func(){
		func() { os.WriteFile(filepath.Join(src, "app.js"), []byte("changed"), 0o644) },
		func() { os.Chmod(filepath.Join(src, "lib.js"), 0o700) },
		func() { os.Rename(filepath.Join(src, "lib.js"), filepath.Join(src, "lib2.js")) },
	} {
		change()
		b, err := Dir(src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if b.SHA256 == a.SHA256 {
			t.Error("a change did not change the archive")
		}
		a = b
	}
}

func TestDirReadBack(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, tree, keys(tree), time.Now())
	a, err := Dir(filepath.Join(dir, "hello-world"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := zip.NewReader(bytes.NewReader(a.Data), int64(len(a.Data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	want := map[string]fs.FileMode{
		"app.js": 0o644, "bootstrap": 0o755, "current": fs.ModeSymlink | 0o777, "lib.js": 0o644, "lib/util.js": 0o644,
		"libdir": fs.ModeSymlink | 0o777, "node_modules/a/x.js": 0o644, "sub/file.txt": 0o644, "ünïcode.txt": 0o644,
	}
	for _, f := range r.File {
		names = append(names, f.Name)
		if f.Mode() != want[f.Name] {
			t.Errorf("%s: mode %v, want %v", f.Name, f.Mode(), want[f.Name])
		}
		if len(f.Extra) != 0 {
			t.Errorf("%s: extra field %x", f.Name, f.Extra)
		}
		if f.ModifiedDate != dosDate || f.ModifiedTime != dosTime || !f.Modified.Equal(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: modified %v (%#x %#x)", f.Name, f.Modified, f.ModifiedDate, f.ModifiedTime)
		}
		if f.Flags&0x8 != 0 {
			t.Errorf("%s: data descriptor", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		key := "hello-world/" + f.Name
		if _, ok := tree[key]; !ok {
			key += "*"
		}
		if got, want := string(data), strings.TrimPrefix(tree[key], "@"); got != want {
			t.Errorf("%s: content %q, want %q", f.Name, got, want)
		}
	}
	if got := strings.Join(names, " "); got != "app.js bootstrap current lib.js lib/util.js libdir node_modules/a/x.js sub/file.txt ünïcode.txt" {
		t.Errorf("entries: %s", got)
	}
	if bytes.Contains(a.Data, []byte("UT\x05\x00")) {
		t.Error("an extended timestamp (0x5455) is in the archive")
	}
	checkLocalHeaders(t, a.Data, r)
}

// checkLocalHeaders walks the local file headers: no extra field, sizes in
// the header.
func checkLocalHeaders(t *testing.T, data []byte, r *zip.Reader) {
	off := 0
	for _, f := range r.File {
		h := data[off:]
		if binary.LittleEndian.Uint32(h) != 0x04034b50 {
			t.Fatalf("%s: no local header at %d", f.Name, off)
		}
		nameLen := int(binary.LittleEndian.Uint16(h[26:]))
		extraLen := int(binary.LittleEndian.Uint16(h[28:]))
		if extraLen != 0 {
			t.Errorf("%s: local extra field of %d bytes", f.Name, extraLen)
		}
		if got := binary.LittleEndian.Uint32(h[18:]); uint64(got) != f.CompressedSize64 {
			t.Errorf("%s: local compressed size %d, want %d", f.Name, got, f.CompressedSize64)
		}
		if string(h[30:30+nameLen]) != f.Name {
			t.Errorf("local name %q, want %q", h[30:30+nameLen], f.Name)
		}
		off += 30 + nameLen + extraLen + int(f.CompressedSize64)
	}
	if binary.LittleEndian.Uint32(data[off:]) != 0x02014b50 {
		t.Errorf("no central directory after the entries")
	}
}

func TestDirUnzip(t *testing.T) {
	unzip, err := exec.LookPath("unzip")
	if err != nil {
		t.Skip("unzip not installed")
	}
	dir := t.TempDir()
	write(t, dir, tree, keys(tree), time.Now())
	a, err := Dir(filepath.Join(dir, "hello-world"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	zipFile := filepath.Join(t.TempDir(), "fn.zip")
	if err := os.WriteFile(zipFile, a.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(unzip, "-t", zipFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No errors detected") {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
	out, err = exec.Command(unzip, "-Z", zipFile).CombinedOutput()
	if err != nil {
		t.Fatalf("unzip -Z: %v\n%s", err, out)
	}
	for _, want := range []string{
		`-rwxr-xr-x  2.0 unx       21 b- stor 80-Jan-01 00:00 bootstrap`,
		`-rw-r--r--  2.0 unx     2000 b- defN 80-Jan-01 00:00 lib/util.js`,
		`lrwxrwxrwx  2.0 unx       11 b- stor 80-Jan-01 00:00 current`,
		`lrwxrwxrwx  2.0 unx        3 b- stor 80-Jan-01 00:00 libdir`,
		`9 files`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("unzip -Z has no %q:\n%s", want, out)
		}
	}
	// Unzipped, the tree is the same: modes and symlinks.
	dest := t.TempDir()
	if out, err := exec.Command(unzip, "-q", zipFile, "-d", dest).CombinedOutput(); err != nil {
		t.Fatalf("unzip: %v\n%s", err, out)
	}
	if st, err := os.Stat(filepath.Join(dest, "bootstrap")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("bootstrap: %v %v", st, err)
	}
	if target, err := os.Readlink(filepath.Join(dest, "current")); err != nil || target != "lib/util.js" {
		t.Errorf("current -> %q, %v", target, err)
	}
}

func TestDirRefuses(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		opts  Options
		want  string
	}{
		{"symlink out", map[string]string{"fn/a.js": "x", "fn/secret": "@../../etc/passwd"}, Options{}, `fn/secret: symlink to "../../etc/passwd" leads outside the function's directory`},
		{"symlink up and back", map[string]string{"fn/a.js": "x", "fn/sub/x": "@../../fn/a.js"}, Options{}, `fn/sub/x: symlink to "../../fn/a.js" leads outside`},
		{"absolute symlink", map[string]string{"fn/a.js": "x", "fn/abs": "@/etc/passwd"}, Options{}, `fn/abs: symlink to "/etc/passwd" leads outside`},
		{"no files", map[string]string{"fn/.git/HEAD": "x"}, Options{}, "no files to zip"},
		{"unzipped limit", map[string]string{"fn/a.bin": "0123456789", "fn/big.bin": strings.Repeat("x", 100)}, Options{MaxUnzipped: 100}, "fn/big.bin: the function's code is over AWS Lambda's 100 B unzipped limit"},
		{"zipped limit", map[string]string{"fn/a.bin": randomString(3000)}, Options{MaxZipped: 2 << 10}, "fn/a.bin: the function's code is over AWS Lambda's 2 KiB zipped limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tt.files, keys(tt.files), time.Now())
			if tt.name == "no files" {
				os.MkdirAll(filepath.Join(dir, "fn", "empty"), 0o755)
			}
			_, err := Dir(filepath.Join(dir, "fn"), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("named pipe", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "a.js"), []byte("x"), 0o644)
		if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
			t.Skip(err)
		}
		_, err := Dir(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), "fifo: a named pipe cannot be part of a function's code") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("dir is a symlink", func(t *testing.T) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "real"), 0o755)
		os.WriteFile(filepath.Join(dir, "real", "a.js"), []byte("x"), 0o644)
		os.Symlink("real", filepath.Join(dir, "link"))
		if _, err := Dir(filepath.Join(dir, "link"), Options{}); err == nil || !strings.Contains(err.Error(), "is a symlink") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("AWS limits by default", func(t *testing.T) {
		dir := t.TempDir()
		f, _ := os.Create(filepath.Join(dir, "big.bin"))
		f.Truncate(MaxUnzipped + 1) // sparse
		f.Close()
		_, err := Dir(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), "big.bin: the function's code is over AWS Lambda's 250 MiB unzipped limit") {
			t.Fatalf("err = %v", err)
		}
	})
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.New(rand.NewSource(1)).Read(b)
	return string(b)
}

// BenchmarkDir zips a ~10 MB tree: 200 source-like files of 40 KB and 20
// incompressible files of 100 KB.
func BenchmarkDir(b *testing.B) {
	dir := b.TempDir()
	rng := rand.New(rand.NewSource(1))
	files := map[string]string{}
	for i := 0; i < 200; i++ {
		var sb strings.Builder
		for sb.Len() < 40<<10 {
			fmt.Fprintf(&sb, "function f%d(x) { return x * %d + %q; }\n", rng.Intn(1000), rng.Intn(1000), "s")
		}
		files[fmt.Sprintf("node_modules/m%d/index.js", i)] = sb.String()
	}
	for i := 0; i < 20; i++ {
		buf := make([]byte, 100<<10)
		rng.Read(buf)
		files[fmt.Sprintf("assets/blob%d.bin", i)] = string(buf)
	}
	write(b, dir, files, keys(files), time.Now())
	var size int64
	for _, c := range files {
		size += int64(len(c))
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Dir(dir, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
