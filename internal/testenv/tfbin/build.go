// Package tfbin builds the OpenTofu and Terraform command-line programs from
// the Go module proxy, for the tests of pipe's TerraformApp support, and
// caches them next to the Kubernetes binaries of internal/testenv/kube
// (kube.CacheDir: $PIPE_TESTENV_CACHE, or else
// ${XDG_CACHE_HOME:-$HOME/.cache}/pipe/testenv):
//
//	<cache>/tofu-v1.10.10/tofu
//	<cache>/terraform-v1.11.4/terraform
//
// Test machines and CI have no terraform or tofu installed, and the tests
// must not depend on whatever happens to be on PATH: they call ForTest for
// the paths and Env for a clean environment to run them in.
//
// A cold build (empty module and build caches) takes several minutes on a
// 2-core machine, so CI runs `go run ./internal/testenv/cmd/testenv build`
// before the tests; afterwards Ensure is a cache hit of a few stat calls.
package tfbin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/kube"
)

// Versions of the programs. Changing one changes its cache directory, so the
// next run rebuilds just that program.
const (
	TofuVersion      = "v1.10.10"
	TerraformVersion = "v1.11.4"

	// terraformInternalVersion is the pseudo-version at which the proxy
	// serves the nested modules github.com/hashicorp/terraform/internal/...
	// (remote-state backends, legacy) at the commit of TerraformVersion's
	// tag. Terraform's go.mod points them at ./internal/..., which only works
	// inside its repository; it must change together with TerraformVersion.
	terraformInternalVersion = "v0.0.0-20250409131005-35645b8fca68"
)

// Binaries are the absolute paths of the built programs.
type Binaries struct {
	Tofu      string
	Terraform string
}

// program describes how one of the two is built from its module.
type program struct {
	name    string // the binary's name, and its cache directory's prefix
	product string // the first word `<binary> version` prints
	module  string // the module path
	version string // the module version
	pkg     string // the main package
	// versionPkg holds `var dev = "yes"`, which appends "-dev" to the version
	// unless the release build sets it to "no" with -ldflags -X.
	versionPkg string
	// nestedVersion is the version that replaces the module's local
	// `replace <module>/... => ./...` directives; empty: they are an error.
	nestedVersion string
}

var (
	tofuProgram = program{
		name:       "tofu",
		product:    "OpenTofu",
		module:     "github.com/opentofu/opentofu",
		version:    TofuVersion,
		pkg:        "github.com/opentofu/opentofu/cmd/tofu",
		versionPkg: "github.com/opentofu/opentofu/version",
	}
	terraformProgram = program{
		name:          "terraform",
		product:       "Terraform",
		module:        "github.com/hashicorp/terraform",
		version:       TerraformVersion,
		pkg:           "github.com/hashicorp/terraform",
		versionPkg:    "github.com/hashicorp/terraform/version",
		nestedVersion: terraformInternalVersion,
	}
)

// lockName is the lock file in the cache directory that serialises these
// builds; it is not kube's, so a Terraform test does not wait for a
// Kubernetes build.
const lockName = ".lock-terraform"

// Ensure builds whichever of tofu and terraform is missing from the cache and
// returns the paths of both. It holds an exclusive lock on
// <cache>/.lock-terraform while it checks and builds, so concurrent callers
// (test packages run in parallel by `go test -p N`) build once: the others
// wait, then find the binaries complete. logf receives progress lines (steps
// with timings); nil discards them.
func Ensure(ctx context.Context, logf func(string, ...any)) (*Binaries, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cache, err := kube.CacheDir()
	if err != nil {
		return nil, err
	}
	tofu, tofuOK := kube.CachedBinary(cache, tofuProgram.name, tofuProgram.version)
	terraform, terraformOK := kube.CachedBinary(cache, terraformProgram.name, terraformProgram.version)
	bins := &Binaries{Tofu: tofu, Terraform: terraform}
	if tofuOK && terraformOK {
		return bins, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("testenv cache %s: %w", cache, err)
	}
	unlock, err := kube.LockFile(ctx, filepath.Join(cache, lockName), logf)
	if err != nil {
		return nil, err
	}
	defer unlock()

	for _, p := range []program{tofuProgram, terraformProgram} {
		// Checked again under the lock: the process we waited for may have
		// built it.
		if _, ok := kube.CachedBinary(cache, p.name, p.version); ok {
			continue
		}
		if err := p.build(ctx, cache, logf); err != nil {
			return nil, fmt.Errorf("building %s %s for the tests: %w", p.name, p.version, err)
		}
	}
	return bins, nil
}

// build builds p in a throwaway module that requires p.module at p.version
// and repeats its go.mod's replace directives (a replace is only honoured in
// the main module), verifies that the binary reports p.version, and installs
// it into the cache.
func (p program) build(ctx context.Context, cache string, logf func(string, ...any)) error {
	modName := "pipe.testenv/" + p.name
	dir, err := kube.ThrowawayModule("module " + modName + "\n\ngo 1.26\n")
	if err != nil {
		return fmt.Errorf("throwaway module: %w", err)
	}
	defer os.RemoveAll(dir)

	start := time.Now()
	logf("testenv: downloading %s %s", p.module, p.version)
	out, err := kube.GoCmd(ctx, dir, nil, "mod", "download", "-json", p.module+"@"+p.version)
	if err != nil {
		return err
	}
	var info struct{ GoMod, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.GoMod == "" {
		return fmt.Errorf("go mod download %s@%s: no go.mod in its answer %q (%v) %s", p.module, p.version, out, err, info.Error)
	}
	upstream, err := os.ReadFile(info.GoMod)
	if err != nil {
		return fmt.Errorf("reading the go.mod of %s@%s: %w", p.module, p.version, err)
	}
	gomod, nReplaces, err := p.throwawayGoMod(modName, upstream)
	if err != nil {
		return fmt.Errorf("go.mod of %s@%s (%s): %w", p.module, p.version, info.GoMod, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	logf("testenv: %s %s downloaded in %s; %d replace directives carried over",
		p.module, p.version, time.Since(start).Round(time.Second), nReplaces)

	start = time.Now()
	logf("testenv: building %s %s", p.name, p.version)
	bin := filepath.Join(dir, "bin", p.name)
	ld := "-s -w -X " + p.versionPkg + ".dev=no"
	if _, err := kube.GoCmd(ctx, dir, nil, "build", "-trimpath", "-ldflags", ld, "-o", bin, p.pkg); err != nil {
		return err
	}
	if err := p.checkVersion(ctx, dir, bin); err != nil {
		return err
	}
	if err := kube.InstallCachedBinary(cache, p.name, p.version, bin); err != nil {
		return fmt.Errorf("installing %s into the cache %s: %w", p.name, cache, err)
	}
	logf("testenv: built %s %s in %s", p.name, p.version, time.Since(start).Round(time.Second))
	return nil
}

// replaceLine matches a replace directive, on its own line or inside a
// replace ( ... ) block: old path, optional old version, new path, optional
// new version (absent for a directory).
var replaceLine = regexp.MustCompile(`^\s*(?:replace\s+)?(\S+)(?:\s+(v\S+))?\s*=>\s*(\S+)(?:\s+(v\S+))?\s*$`)

// throwawayGoMod returns the go.mod of the throwaway module: it requires
// p.module at p.version and carries over each of the upstream go.mod's
// replace directives that point at another module; each that points at a
// directory of p's repository (<module>/sub => ./sub) is re-pointed at the
// published <module>/sub at p.nestedVersion, which the main module also
// requires so that nothing ever asks the proxy for the placeholder version
// upstream requires it at.
func (p program) throwawayGoMod(modName string, upstream []byte) (string, int, error) {
	var requires, replaces []string
	sc := bufio.NewScanner(bytes.NewReader(upstream))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		if !strings.Contains(line, "=>") {
			continue
		}
		m := replaceLine.FindStringSubmatch(line)
		if m == nil {
			return "", 0, fmt.Errorf("cannot read the replace directive %q", strings.TrimSpace(line))
		}
		oldPath, oldVersion, newPath, newVersion := m[1], m[2], m[3], m[4]
		if newVersion != "" {
			old := oldPath
			if oldVersion != "" {
				old += " " + oldVersion
			}
			replaces = append(replaces, fmt.Sprintf("%s => %s %s", old, newPath, newVersion))
			continue
		}
		// A directory replacement: only the repository's own nested modules
		// have a published stand-in.
		if p.nestedVersion == "" || !strings.HasPrefix(oldPath, p.module+"/") || !strings.HasPrefix(newPath, "./") {
			return "", 0, fmt.Errorf("replace %s => %s points at a directory of the repository, which a build from the module proxy cannot use", oldPath, newPath)
		}
		requires = append(requires, oldPath+" "+p.nestedVersion)
		replaces = append(replaces, fmt.Sprintf("%s => %s %s", oldPath, oldPath, p.nestedVersion))
	}
	if err := sc.Err(); err != nil {
		return "", 0, err
	}
	if p.nestedVersion != "" && len(requires) == 0 {
		return "", 0, fmt.Errorf("no replace directives of nested modules (%s/... => ./...) found; the build recipe in internal/testenv/tfbin no longer matches this version", p.module)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module %s\n\ngo 1.26\n\nrequire (\n\t%s %s\n", modName, p.module, p.version)
	for _, r := range requires {
		fmt.Fprintf(&b, "\t%s\n", r)
	}
	b.WriteString(")\n")
	if len(replaces) > 0 {
		b.WriteString("\nreplace (\n")
		for _, r := range replaces {
			fmt.Fprintf(&b, "\t%s\n", r)
		}
		b.WriteString(")\n")
	}
	return b.String(), len(replaces), nil
}

// checkVersion runs `<bin> version` in a clean environment and checks that it
// reports exactly p.version (no "-dev" suffix, which a build without the
// version ldflags has).
func (p program) checkVersion(ctx context.Context, dir, bin string) error {
	env, err := CleanEnv(dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "version")
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("the freshly built %s does not run: `%s version`: %w\n%s", p.name, p.name, err, out)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	if want := p.product + " " + p.version; strings.TrimSpace(first) != want {
		return fmt.Errorf("the freshly built %s reports %q, want %q: the version ldflags (-X %s.dev=no) did not take", p.name, strings.TrimSpace(first), want, p.versionPkg)
	}
	return nil
}
