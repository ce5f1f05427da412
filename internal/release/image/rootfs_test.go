package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tarLayer is an uncompressed layer of the given headers; regular files
// hold their name's content map value.
func tarLayer(t *testing.T, hdrs []*tar.Header, content map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		data := content[h.Name]
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// fileBase is a base whose filesystem holds files (name → content; a name
// ending in "/" is a directory, a value starting with "->" a symlink),
// plus the test CA bundle unless noCA.
func fileBase(t *testing.T, files map[string]string, noCA bool) Base {
	t.Helper()
	var hdrs []*tar.Header
	content := map[string]string{}
	if !noCA {
		ca, err := os.ReadFile(testCABundle(t))
		if err != nil {
			t.Fatal(err)
		}
		files["etc/ssl/certs/ca-certificates.crt"] = string(ca)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v := files[n]
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg}
		switch {
		case strings.HasSuffix(n, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case strings.HasPrefix(v, "->"):
			h.Typeflag, h.Linkname = tar.TypeSymlink, strings.TrimPrefix(v, "->")
		default:
			content[n] = v
		}
		hdrs = append(hdrs, h)
	}
	img, err := mutate.AppendLayers(empty.Image, tarLayer(t, hdrs, content))
	if err != nil {
		t.Fatal(err)
	}
	return scratchBase{img: img}
}

func buildOn(t *testing.T, base Base) (v1.ImageIndex, error) {
	t.Helper()
	opts := testOptions(t)
	opts.Base = base
	return Build(context.Background(), opts)
}

const distrolessPasswd = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"

func TestBaseWithTheAccountKeepsIt(t *testing.T) {
	base := fileBase(t, map[string]string{
		"etc/":          "",
		"etc/passwd":    strings.Replace(distrolessPasswd, "/home/nonroot", "/var/lib/pipe", 1),
		"etc/group":     "root:x:0:\nnonroot:x:65532:\n",
		"var/":          "",
		"var/lib/":      "",
		"var/lib/pipe/": "",
		"tmp/":          "",
	}, false)
	idx, err := buildOn(t, base)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := platformImage(t, idx, "arm64")
	files := flatten(t, img)
	if got := string(files["/etc/passwd"].data); got != strings.Replace(distrolessPasswd, "/home/nonroot", "/var/lib/pipe", 1) {
		t.Errorf("/etc/passwd changed to %q", got)
	}
	for _, name := range []string{"/home", "/home/nonroot"} {
		if _, ok := files[name]; ok {
			t.Errorf("the image added %s though the base's account has its home", name)
		}
	}
	if f := files["/tmp"]; f.hdr.Mode != 0o755 {
		t.Errorf("the base's /tmp was replaced (mode %o)", f.hdr.Mode)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cf.Config.Env, "HOME=/var/lib/pipe") {
		t.Errorf("env %v lacks the account's HOME=/var/lib/pipe", cf.Config.Env)
	}
}

func TestBaseWithoutTheAccountGetsIt(t *testing.T) {
	// Alpine's files, here without their final newline.
	base := fileBase(t, map[string]string{
		"etc/":       "",
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n# comment\nnobody:x:65534:65534:nobody:/:/sbin/nologin",
		"etc/group":  "root:x:0:root\nnogroup:x:65533:",
		"home/":      "",
	}, false)
	idx, err := buildOn(t, base)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := platformImage(t, idx, "amd64")
	files := flatten(t, img)
	if got, want := string(files["/etc/passwd"].data), "root:x:0:0:root:/root:/bin/sh\n# comment\nnobody:x:65534:65534:nobody:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"; got != want {
		t.Errorf("/etc/passwd = %q, want %q", got, want)
	}
	if got, want := string(files["/etc/group"].data), "root:x:0:root\nnogroup:x:65533:\nnonroot:x:65532:\n"; got != want {
		t.Errorf("/etc/group = %q, want %q", got, want)
	}
	if f := files["/home"]; f.hdr == nil || f.hdr.ModTime.Equal(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("/home should stay the base's directory")
	}
	checkEntry(t, files, "/home/nonroot", 0o700, UID, nil)
}

func TestBaseThatCannotHostPipe(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		noCA  bool
		want  string
	}{
		{"no CA bundle", map[string]string{"etc/": "", "etc/passwd": distrolessPasswd}, true,
			"has no CA certificate bundle (none of /etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt"},
		{"nonroot taken", map[string]string{"etc/passwd": "nonroot:x:1000:1000::/home/nonroot:/bin/sh\n"}, false,
			`its /etc/passwd has a user "nonroot" whose uid is not 65532`},
		{"nonroot group taken", map[string]string{"etc/group": "nonroot:x:1000:\n"}, false,
			`its /etc/group has a group "nonroot" whose gid is not 65532`},
		{"account without home", map[string]string{"etc/passwd": "pipe:x:65532:65532:pipe:relative:/bin/sh\n"}, false,
			"its /etc/passwd entry for uid 65532 has no absolute home directory"},
		{"usr/local a symlink", map[string]string{"usr/": "", "usr/local": "->/opt"}, false,
			"its /usr/local is a symbolic link, not a directory, so the image cannot have /usr/local/bin/pipe"},
		{"work a file", map[string]string{"work": "x"}, false,
			"its /work is a regular file, not a directory"},
		{"binary a symlink", map[string]string{"usr/": "", "usr/local/": "", "usr/local/bin/": "", "usr/local/bin/pipe": "->/bin/true"}, false,
			"its /usr/local/bin/pipe is a symbolic link, not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildOn(t, fileBase(t, tc.files, tc.noCA))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "base image (scratch with a CA bundle) (linux/amd64)") {
				t.Fatalf("Build error = %v, want one naming the base and containing %q", err, tc.want)
			}
		})
	}
}

func TestCABundleLocations(t *testing.T) {
	for _, f := range goCAFiles {
		for _, typ := range []byte{tar.TypeReg, tar.TypeSymlink} {
			fs := &baseFS{types: map[string]byte{f: typ, "/etc/ssl/certs": tar.TypeDir}}
			if got := fs.caBundle(); got != f {
				t.Errorf("caBundle with %s (type %c) = %q", f, typ, got)
			}
		}
	}
	fs := &baseFS{types: map[string]byte{"/etc/ssl/certs/ca-certificates.crt": tar.TypeDir}}
	if got := fs.caBundle(); got != "" {
		t.Errorf("a directory counted as the CA bundle %s", got)
	}
}

func TestScratchBaseNeedsCertificates(t *testing.T) {
	dir := t.TempDir()
	if _, err := ScratchBase(dir + "/missing.crt"); err == nil || !strings.Contains(err.Error(), "does not exist; give the path of a PEM bundle") {
		t.Errorf("missing bundle: %v", err)
	}
	if err := os.WriteFile(dir+"/empty.crt", []byte("not PEM\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ScratchBase(dir + "/empty.crt"); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("bundle without certificates: %v", err)
	}
}
