package image

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
)

// elfMachines maps a GOARCH to the ELF machine and class of its Linux
// executables.
var elfMachines = map[string]struct {
	machine elf.Machine
	class   elf.Class
}{
	"amd64":   {elf.EM_X86_64, elf.ELFCLASS64},
	"arm64":   {elf.EM_AARCH64, elf.ELFCLASS64},
	"386":     {elf.EM_386, elf.ELFCLASS32},
	"arm":     {elf.EM_ARM, elf.ELFCLASS32},
	"ppc64le": {elf.EM_PPC64, elf.ELFCLASS64},
	"s390x":   {elf.EM_S390, elf.ELFCLASS64},
	"riscv64": {elf.EM_RISCV, elf.ELFCLASS64},
}

// readBinary reads the pipe executable at file and checks that it runs on
// linux/arch in any base image: a Linux ELF executable for that
// architecture, statically linked (no program interpreter), as
// CGO_ENABLED=0 builds are. It returns the file's bytes.
func readBinary(file, arch string) ([]byte, error) {
	want, ok := elfMachines[arch]
	if !ok {
		return nil, fmt.Errorf("pipe binary %s: architecture linux/%s is not supported; use one of amd64, arm64, 386, arm, ppc64le, s390x, riscv64", file, arch)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("pipe binary for linux/%s: %s does not exist; build it first (CGO_ENABLED=0 GOOS=linux GOARCH=%s go build -trimpath -o %s ./cmd/pipe)", arch, file, arch, file)
		}
		return nil, fmt.Errorf("pipe binary for linux/%s: %w", arch, err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("pipe binary for linux/%s: %s is not a Linux executable (%v); build it with GOOS=linux GOARCH=%s", arch, file, err, arch)
	}
	defer f.Close()
	if f.Machine != want.machine || f.Class != want.class {
		return nil, fmt.Errorf("pipe binary for linux/%s: %s is built for %s (%s), not %s; build it with GOOS=linux GOARCH=%s or fix the --binary platform", arch, file, f.Machine, f.Class, want.machine, arch)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return nil, fmt.Errorf("pipe binary for linux/%s: %s is built for OS ABI %s, not Linux; build it with GOOS=linux", arch, file, f.OSABI)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, fmt.Errorf("pipe binary for linux/%s: %s is an ELF %s, not an executable", arch, file, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			interp, _ := io.ReadAll(io.LimitReader(p.Open(), 256))
			return nil, fmt.Errorf("pipe binary for linux/%s: %s is dynamically linked (interpreter %s) and would not start in the image; build it with CGO_ENABLED=0", arch, file, trimNUL(interp))
		}
	}
	return data, nil
}

func trimNUL(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
