package image

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestBuildIndexAndConfig(t *testing.T) {
	opts := testOptions(t)
	idx := build(t, opts)

	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type = %s, want %s", im.MediaType, types.OCIImageIndex)
	}
	var plats []string
	for _, m := range im.Manifests {
		plats = append(plats, platformString(*m.Platform))
		if m.MediaType != types.OCIManifestSchema1 {
			t.Errorf("%s manifest media type = %s", platformString(*m.Platform), m.MediaType)
		}
	}
	if want := []string{"linux/amd64", "linux/arm64"}; !reflect.DeepEqual(plats, want) {
		t.Errorf("index platforms = %v, want %v", plats, want)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.source":      "https://github.com/gitops-pipe/pipe",
		"org.opencontainers.image.url":         "https://github.com/gitops-pipe/pipe",
		"org.opencontainers.image.version":     "1.4.0",
		"org.opencontainers.image.revision":    "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.created":     "2025-06-01T12:00:00Z",
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.title":       "pipe",
		"org.opencontainers.image.description": description,
	}
	if !reflect.DeepEqual(im.Annotations, wantLabels) {
		t.Errorf("index annotations = %v, want %v", im.Annotations, wantLabels)
	}

	for i, arch := range []string{"amd64", "arm64"} {
		img, _ := platformImage(t, idx, arch)
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
			t.Errorf("%s: manifest %s, config %s; want OCI", arch, m.MediaType, m.Config.MediaType)
		}
		// The scratch base's CA layer (Docker media type in the base) is
		// re-described as OCI, then the system and binary layers.
		if len(m.Layers) != 3 {
			t.Fatalf("%s: %d layers, want 3 (CA bundle, system, binary)", arch, len(m.Layers))
		}
		for _, l := range m.Layers {
			if l.MediaType != types.OCILayer {
				t.Errorf("%s: layer %s has media type %s", arch, l.Digest, l.MediaType)
			}
		}
		if !reflect.DeepEqual(m.Annotations, wantLabels) {
			t.Errorf("%s manifest annotations = %v, want %v", arch, m.Annotations, wantLabels)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != "linux" || cf.Architecture != arch {
			t.Errorf("config platform %s/%s, want linux/%s", cf.OS, cf.Architecture, arch)
		}
		if !cf.Created.Time.Equal(opts.Created) {
			t.Errorf("%s: created %s, want %s", arch, cf.Created, opts.Created)
		}
		wantCfg := v1.Config{
			Entrypoint: []string{"/usr/local/bin/pipe"},
			WorkingDir: "/work",
			User:       "65532:65532",
			Env:        []string{"PATH=" + defaultPath, "HOME=/home/nonroot"},
			Labels:     wantLabels,
		}
		if !reflect.DeepEqual(cf.Config, wantCfg) {
			t.Errorf("%s config = %+v\nwant %+v", arch, cf.Config, wantCfg)
		}
		if n := len(cf.History); n != 3 || !strings.Contains(cf.History[2].CreatedBy, "pipe 1.4.0 at /usr/local/bin/pipe") {
			t.Errorf("%s history = %+v", arch, cf.History)
		}

		files := flatten(t, img)
		bin, err := os.ReadFile(opts.Binaries[i].Path)
		if err != nil {
			t.Fatal(err)
		}
		checkEntry(t, files, "/usr/local/bin/pipe", 0o755, 0, bin)
		checkEntry(t, files, "/work", 0o755, UID, nil)
		checkEntry(t, files, "/home/nonroot", 0o700, UID, nil)
		checkEntry(t, files, "/tmp", 0o1777, 0, nil)
		checkEntry(t, files, "/etc/passwd", 0o644, 0, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"))
		checkEntry(t, files, "/etc/group", 0o644, 0, []byte("root:x:0:\nnonroot:x:65532:\n"))
		ca, err := os.ReadFile(testCABundle(t))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := files[caBundlePath]; !ok || (got.hdr.Size <= 1<<20 && !bytes.Equal(got.data, ca)) || got.hdr.Size != int64(len(ca)) {
			t.Errorf("%s: %s differs from the CA bundle given", arch, caBundlePath)
		}
		for name, f := range files {
			if name == "/etc" || strings.HasPrefix(name, "/etc/ssl") {
				continue // the scratch base's own layer, time 0
			}
			if !f.hdr.ModTime.Equal(opts.Created) {
				t.Errorf("%s: %s has mtime %s, want the creation time %s", arch, name, f.hdr.ModTime, opts.Created)
			}
		}
	}
}

func checkEntry(t *testing.T, files map[string]fileEntry, name string, mode int64, uid int, data []byte) {
	t.Helper()
	f, ok := files[name]
	if !ok {
		t.Errorf("image has no %s", name)
		return
	}
	if f.hdr.Mode != mode || f.hdr.Uid != uid || f.hdr.Gid != uid {
		t.Errorf("%s: mode %o uid %d gid %d, want mode %o owner %d", name, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid, mode, uid)
	}
	if data != nil && !bytes.Equal(f.data, data) {
		t.Errorf("%s holds %q, want %q", name, trunc(f.data), trunc(data))
	}
}

func trunc(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

func TestBuildIsReproducible(t *testing.T) {
	opts := testOptions(t)
	first := digest(t, build(t, opts))
	// A fresh base and fresh layers from the same inputs.
	opts.Base = scratch(t)
	if again := digest(t, build(t, opts)); again != first {
		t.Errorf("same inputs built %s, then %s", first, again)
	}
	// Binaries given in another order: the same index.
	opts.Binaries = []Binary{opts.Binaries[1], opts.Binaries[0]}
	if again := digest(t, build(t, opts)); again != first {
		t.Errorf("binaries in another order built %s, not %s", again, first)
	}
	for name, change := range map[string]func(*Options){
		"created":  func(o *Options) { o.Created = o.Created.Add(time.Second) },
		"version":  func(o *Options) { o.Version = "1.4.1" },
		"revision": func(o *Options) { o.Revision = "fedcba9" },
	} {
		o := testOptions(t)
		o.Binaries = opts.Binaries
		change(&o)
		if d := digest(t, build(t, o)); d == first {
			t.Errorf("changing the %s kept the digest %s", name, d)
		}
	}
}

func TestBuildRefusesBadInput(t *testing.T) {
	amd64 := fakeELF(t, elf.EM_X86_64, "")
	dynamic := fakeELF(t, elf.EM_X86_64, "/lib64/ld-linux-x86-64.so.2")
	notELF := fakeELF(t, elf.EM_X86_64, "")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\necho pipe\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	linux := func(arch string) v1.Platform { return v1.Platform{OS: "linux", Architecture: arch} }
	for _, tc := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no binaries", func(o *Options) { o.Binaries = nil }, "no pipe binary given"},
		{"two for one platform", func(o *Options) { o.Binaries = append(o.Binaries, o.Binaries[0]) }, "two binaries for linux/amd64"},
		{"not linux", func(o *Options) { o.Binaries[0].Platform.OS = "darwin" }, "platform darwin/amd64 is not linux/ARCH"},
		{"no base", func(o *Options) { o.Base = nil }, "no base image"},
		{"no version", func(o *Options) { o.Version = "" }, "no version"},
		{"v prefix", func(o *Options) { o.Version = "v1.4.0" }, `give it without, as goreleaser's {{.Version}} and the archive names do (1.4.0)`},
		{"bad version", func(o *Options) { o.Version = "1.4 0" }, `version "1.4 0" is not a version`},
		{"bad revision", func(o *Options) { o.Revision = "HEAD" }, `revision "HEAD" is not a git commit`},
		{"no created", func(o *Options) { o.Created = time.Time{} }, "no creation time"},
		{"licenses lines", func(o *Options) { o.Licenses = "MIT\nApache-2.0" }, "spans lines"},
		{"wrong arch", func(o *Options) { o.Binaries[1] = Binary{Platform: linux("arm64"), Path: amd64} }, "is built for EM_X86_64 (ELFCLASS64), not EM_AARCH64; build it with GOOS=linux GOARCH=arm64"},
		{"dynamic", func(o *Options) { o.Binaries[0].Path = dynamic }, "is dynamically linked (interpreter /lib64/ld-linux-x86-64.so.2) and would not start in the image; build it with CGO_ENABLED=0"},
		{"not ELF", func(o *Options) { o.Binaries[0].Path = notELF }, "is not a Linux executable"},
		{"missing", func(o *Options) { o.Binaries[0].Path = notELF + ".missing" }, "does not exist; build it first (CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build"},
		{"unknown arch", func(o *Options) { o.Binaries[0].Platform = linux("mips") }, "architecture linux/mips is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(t)
			tc.change(&opts)
			_, err := Build(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBuildStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, testOptions(t)); err != context.Canceled {
		t.Fatalf("Build with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestParseBinary(t *testing.T) {
	b, err := ParseBinary("linux/arm64/v8=dist/pipe_linux_arm64_v8.0/pipe")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Binary{Platform: v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, Path: "dist/pipe_linux_arm64_v8.0/pipe"}); !reflect.DeepEqual(b, want) {
		t.Errorf("ParseBinary = %+v, want %+v", b, want)
	}
	for in, want := range map[string]string{
		"dist/pipe":                 "is not PLATFORM=PATH",
		"linux/amd64=":              "is not PLATFORM=PATH",
		"=dist/pipe":                "is not PLATFORM=PATH",
		"darwin/arm64=dist/pipe":    `the platform must be linux/ARCH (e.g. linux/amd64, linux/arm64), not "darwin/arm64"`,
		"linux=dist/pipe":           "the platform must be linux/ARCH",
		"windows/amd64:10=dist/exe": "the platform must be linux/ARCH",
	} {
		if _, err := ParseBinary(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseBinary(%q) error = %v, want one containing %q", in, err, want)
		}
	}
}
