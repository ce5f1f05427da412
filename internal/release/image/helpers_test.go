package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// hostCABundle is the CA bundle tests put in the scratch base: the host's
// when it has one (Debian's ca-certificates), else a generated one.
const hostCABundle = "/etc/ssl/certs/ca-certificates.crt"

func testCABundle(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(hostCABundle); err == nil {
		return hostCABundle
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pipe image test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func scratch(t *testing.T) Base {
	t.Helper()
	b, err := ScratchBase(testCABundle(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeELF writes a minimal 64-bit little-endian ELF executable header for
// machine (with a PT_INTERP naming interp when it is not empty). It is not
// runnable, but readBinary accepts it like a static Go binary.
func fakeELF(t *testing.T, machine elf.Machine, interp string) string {
	t.Helper()
	var buf bytes.Buffer
	hdr := elf.Header64{
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(machine),
		Version:   uint32(elf.EV_CURRENT),
		Entry:     0x401000,
		Phoff:     64,
		Ehsize:    64,
		Phentsize: 56,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	progs := []elf.Prog64{{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Align: 0x1000}}
	if interp != "" {
		progs = append(progs, elf.Prog64{Type: uint32(elf.PT_INTERP), Flags: uint32(elf.PF_R),
			Off: 64 + 2*56, Filesz: uint64(len(interp) + 1), Memsz: uint64(len(interp) + 1), Align: 1})
	}
	hdr.Phnum = uint16(len(progs))
	if err := binary.Write(&buf, binary.LittleEndian, hdr); err != nil {
		t.Fatal(err)
	}
	for _, p := range progs {
		if err := binary.Write(&buf, binary.LittleEndian, p); err != nil {
			t.Fatal(err)
		}
	}
	if interp != "" {
		buf.WriteString(interp + "\x00")
	}
	buf.WriteString("pipe test binary for " + machine.String())
	file := filepath.Join(t.TempDir(), "pipe")
	if err := os.WriteFile(file, buf.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	return file
}

// fakeBinaries are fake static binaries for linux/amd64 and linux/arm64.
func fakeBinaries(t *testing.T) []Binary {
	t.Helper()
	return []Binary{
		{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Path: fakeELF(t, elf.EM_X86_64, "")},
		{Platform: v1.Platform{OS: "linux", Architecture: "arm64"}, Path: fakeELF(t, elf.EM_AARCH64, "")},
	}
}

func testOptions(t *testing.T) Options {
	t.Helper()
	return Options{
		Binaries: fakeBinaries(t),
		Base:     scratch(t),
		Version:  "1.4.0",
		Revision: "0123456789abcdef0123456789abcdef01234567",
		Created:  time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		Licenses: "Apache-2.0",
	}
}

func build(t *testing.T, opts Options) v1.ImageIndex {
	t.Helper()
	idx, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return idx
}

func digest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// platformImage returns the image of arch in idx and its descriptor.
func platformImage(t *testing.T, idx v1.ImageIndex, arch string) (v1.Image, v1.Descriptor) {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.OS == "linux" && m.Platform.Architecture == arch {
			img, err := idx.Image(m.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img, m
		}
	}
	t.Fatalf("index has no linux/%s image: %+v", arch, im.Manifests)
	return nil, v1.Descriptor{}
}

// fileEntry is one entry of an image's flattened filesystem.
type fileEntry struct {
	hdr  *tar.Header
	data []byte
}

// flatten reads img's flattened filesystem (mutate.Extract), keeping file
// contents up to 1 MiB.
func flatten(t *testing.T, img v1.Image) map[string]fileEntry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]fileEntry{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		if hdr.Typeflag == tar.TypeReg && hdr.Size <= 1<<20 {
			if data, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
		files["/"+path.Clean(hdr.Name)] = fileEntry{hdr: hdr, data: data}
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// extract writes img's flattened filesystem (mutate.Extract) below root:
// directories and regular files with their modes; links are skipped.
func extract(t *testing.T, img v1.Image, root string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		rel := path.Clean("/" + hdr.Name)[1:]
		if rel == "" {
			continue
		}
		dst := filepath.Join(root, filepath.FromSlash(rel))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(hdr.Mode).Perm())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
