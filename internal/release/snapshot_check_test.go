package release

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Checks of the binaries TestReleaseSnapshot builds.

// checkBinary checks that bin was built for p, statically, stripped, with the
// configured settings and the stamped version, commit and date.
func checkBinary(t *testing.T, bin string, p Platform, env []string, version, commit, date string) {
	t.Helper()
	var machine string
	var symbols []string // the symbol table's names: -s leaves none of Go's
	switch p.OS {
	case "linux":
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatalf("%s/%s: %v", p.OS, p.Arch, err)
		}
		defer f.Close()
		machine = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
		syms, _ := f.Symbols() // ErrNoSymbols when stripped
		for _, s := range syms {
			symbols = append(symbols, s.Name)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("linux/%s: the binary is dynamically linked (CGO_ENABLED=0 builds are static)", p.Arch)
			}
		}
	case "darwin":
		f, err := macho.Open(bin)
		if err != nil {
			t.Fatalf("%s/%s: %v", p.OS, p.Arch, err)
		}
		defer f.Close()
		machine = map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]
		if f.Symtab != nil { // a darwin binary keeps its dynamic imports
			for _, s := range f.Symtab.Syms {
				symbols = append(symbols, s.Name)
			}
		}
	case "windows":
		f, err := pe.Open(bin)
		if err != nil {
			t.Fatalf("%s/%s: %v", p.OS, p.Arch, err)
		}
		defer f.Close()
		machine = map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64"}[f.Machine]
		for _, s := range f.Symbols {
			symbols = append(symbols, s.Name)
		}
	}
	if machine != p.Arch {
		t.Errorf("%s/%s: the binary is for %q", p.OS, p.Arch, machine)
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("%s/%s: build info: %v", p.OS, p.Arch, err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	want := map[string]string{"GOOS": p.OS, "GOARCH": p.Arch, "-trimpath": "true"}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		want[k] = v
	}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("%s/%s: build setting %s = %q, want %q", p.OS, p.Arch, k, settings[k], v)
		}
	}
	// -trimpath builds do not record -ldflags: look for what they did.
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{version, commit, date} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("%s/%s: the binary does not hold %q: the -X ldflags did not stamp it", p.OS, p.Arch, want)
		}
	}
	if slices.ContainsFunc(symbols, func(s string) bool { return strings.HasSuffix(s, "main.main") }) {
		t.Errorf("%s/%s: the binary's symbol table holds Go's symbols (-s strips them)", p.OS, p.Arch)
	}
}

// checkVersionOutput runs `pipe version` (text and JSON) of bin, built for p.
func checkVersionOutput(t *testing.T, bin string, p Platform, version, commit, date string) {
	t.Helper()
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	if want := fmt.Sprintf("pipe %s (%s, %s)\n", version, commit[:12], date); string(out) != want {
		t.Errorf("pipe version printed %q, want %q", out, want)
	}
	out, err = exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("%s version -o json: %v", bin, err)
	}
	var info struct{ Version, Commit, Date, Platform string }
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("pipe version -o json: %v\n%s", err, out)
	}
	if info.Version != version || info.Commit != commit || info.Date != date || info.Platform != p.OS+"/"+p.Arch {
		t.Errorf("pipe version -o json = %+v, want %s %s %s %s/%s", info, version, commit, date, p.OS, p.Arch)
	}
}
