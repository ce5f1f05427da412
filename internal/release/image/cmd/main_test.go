package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// staticELF writes the header of a static 64-bit Linux executable for
// machine: enough for the image builder's checks, not runnable.
func staticELF(t *testing.T, machine elf.Machine) string {
	t.Helper()
	hdr := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT), Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: 1}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS], hdr.Ident[elf.EI_DATA], hdr.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, hdr); err != nil {
		t.Fatal(err)
	}
	if err := binary.Write(&buf, binary.LittleEndian, elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X)}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pipe")
	if err := os.WriteFile(file, buf.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	return file
}

func caBundle(t *testing.T) string {
	t.Helper()
	const host = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(host); err != nil {
		t.Skipf("no CA bundle at %s to build the scratch base with", host)
	}
	return host
}

func runCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestBuildWriteAndPush(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := filepath.Join(t.TempDir(), "image")

	code, stdout, stderr := runCmd(t, map[string]string{"SOURCE_DATE_EPOCH": "1700000000"},
		"--binary", "linux/amd64="+staticELF(t, elf.EM_X86_64),
		"--binary", "linux/arm64="+staticELF(t, elf.EM_AARCH64),
		"--base", "scratch", "--ca-bundle", caBundle(t),
		"--version", "1.0.0", "--revision", "abcdef0",
		"--oci-layout", dir,
		"--push", host+"/gitops-pipe/pipe:1.0.0", "--push", host+"/gitops-pipe/pipe:latest")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}

	outer, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	om, err := outer.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	d := om.Manifests[0].Digest
	want := host + "/gitops-pipe/pipe@" + d.String() + "\n"
	if stdout != want+want {
		t.Errorf("stdout = %q, want one %q per push", stdout, want)
	}
	if !strings.Contains(stderr, "to the OCI layout "+dir) || !strings.Contains(stderr, "pushed "+host+"/gitops-pipe/pipe:latest") {
		t.Errorf("stderr does not tell what was done:\n%s", stderr)
	}
	idx, err := outer.ImageIndex(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if got := im.Annotations["org.opencontainers.image.created"]; got != "2023-11-14T22:13:20Z" {
		t.Errorf("created = %q, want $SOURCE_DATE_EPOCH's 2023-11-14T22:13:20Z", got)
	}
	if got := im.Annotations["org.opencontainers.image.revision"]; got != "abcdef0" {
		t.Errorf("revision = %q", got)
	}
}

func TestUsageErrors(t *testing.T) {
	bin := "linux/amd64=" + filepath.Join(t.TempDir(), "pipe")
	base := []string{"--binary", bin, "--version", "1.0.0", "--created", "2025-06-01T12:00:00Z", "--oci-layout", t.TempDir() + "/x"}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"no binary", []string{"--version", "1.0.0", "--oci-layout", "x"}, nil, 2, "no --binary: give one per platform"},
		{"bad binary", []string{"--binary", "amd64=pipe"}, nil, 2, `invalid value "amd64=pipe" for flag -binary: "amd64=pipe": the platform must be linux/ARCH`},
		{"no version", []string{"--binary", bin, "--oci-layout", "x"}, nil, 2, "no --version"},
		{"no output", []string{"--binary", bin, "--version", "1.0.0"}, nil, 2, "nothing to do: give --oci-layout DIR and/or --push REF"},
		{"no created", []string{"--binary", bin, "--version", "1.0.0", "--oci-layout", "x"}, nil, 2, "no --created and no $SOURCE_DATE_EPOCH"},
		{"bad created", append(append([]string{}, base...), "--created", "yesterday"), nil, 2, `--created "yesterday": not RFC 3339 (2025-06-01T12:00:00Z) or Unix seconds`},
		{"bad epoch", []string{"--binary", bin, "--version", "1.0.0", "--oci-layout", "x"}, map[string]string{"SOURCE_DATE_EPOCH": "-5"}, 2, `$SOURCE_DATE_EPOCH "-5": Unix seconds must be positive`},
		{"argument", append(append([]string{}, base...), "extra"), nil, 2, `unexpected argument "extra"`},
		{"tag-only base", append(append([]string{}, base...), "--base", "alpine:3.23"), nil, 1, `base image "alpine:3.23" is not pinned by digest`},
		{"missing binary", base, nil, 1, "pipe binary for linux/amd64: " + strings.TrimPrefix(bin, "linux/amd64=") + " does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.env, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Fatalf("exit %d (want %d), stdout %q, stderr:\n%s\nwant it to contain %q", code, tc.code, stdout, stderr, tc.want)
			}
			if strings.Contains(stderr, "usage: ") {
				t.Errorf("the errUsage marker leaked: %s", stderr)
			}
		})
	}
	code, _, stderr := runCmd(t, nil, "-h")
	if code != 0 || !strings.Contains(stderr, "Usage: go run ./internal/release/image/cmd --binary linux/ARCH=PATH") || !strings.Contains(stderr, "-push REGISTRY/REPOSITORY:TAG") {
		t.Errorf("-h: exit %d, stderr:\n%s", code, stderr)
	}
}
