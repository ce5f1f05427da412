package kube

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Versions of the components the control plane is built from. Changing one
// changes its cache directory, so the next run rebuilds just that component.
const (
	KubernetesVersion = "v1.36.3"
	// StagingVersion is the published version of the k8s.io/* staging
	// modules (k8s.io/api, k8s.io/client-go, ...) that match KubernetesVersion.
	StagingVersion = "v0.36.3"
	EtcdVersion    = "v3.6.16"
	KWOKVersion    = "v0.8.0"
)

// Logf receives progress lines (build steps with timings, process start-up).
type Logf func(format string, args ...any)

// Binaries are the absolute paths of the built programs.
type Binaries struct {
	APIServer         string
	ControllerManager string
	Scheduler         string
	Kubectl           string
	Etcd              string
	KWOK              string
}

// component is one cached program: it lives in <cache>/<name>-<version>/<name>
// and is complete when that directory holds a marker file with the version.
type component struct {
	name, version string
}

var (
	kubeComponents = []component{
		{"kube-apiserver", KubernetesVersion},
		{"kube-controller-manager", KubernetesVersion},
		{"kube-scheduler", KubernetesVersion},
		{"kubectl", KubernetesVersion},
	}
	etcdComponent = component{"etcd", EtcdVersion}
	kwokComponent = component{"kwok", KWOKVersion}
)

const markerName = ".complete"

// CacheDir is where binaries are cached: $PIPE_TESTENV_CACHE, or else
// ${XDG_CACHE_HOME:-$HOME/.cache}/pipe/testenv. It is outside the repository
// so that `git clean` does not throw away a build of several minutes.
func CacheDir() (string, error) {
	if d := os.Getenv("PIPE_TESTENV_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("testenv cache: no PIPE_TESTENV_CACHE, XDG_CACHE_HOME or home directory: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "pipe", "testenv"), nil
}

func (c component) dir(cache string) string  { return filepath.Join(cache, c.name+"-"+c.version) }
func (c component) path(cache string) string { return filepath.Join(c.dir(cache), c.name) }

func (c component) complete(cache string) bool {
	b, err := os.ReadFile(filepath.Join(c.dir(cache), markerName))
	if err != nil || strings.TrimSpace(string(b)) != c.version {
		return false
	}
	_, err = os.Stat(c.path(cache))
	return err == nil
}

// install moves a built binary into place: rename within the component's
// directory (atomic), then the marker, so a build interrupted at any point is
// redone by the next run.
func (c component) install(cache, built string) error {
	dir := c.dir(cache)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(dir, markerName))
	tmp := c.path(cache) + ".tmp"
	if err := copyFile(built, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, c.path(cache)); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, markerName), []byte(c.version+"\n"))
}

// EnsureBinaries builds every missing component into the cache and returns
// their paths. It holds an exclusive lock on <cache>/.lock while it checks and
// builds, so concurrent callers (test packages run in parallel by `go test
// -p N`) build once: the others wait, then find the binaries complete.
//
// The builds use the default Go build cache (what makes a rebuild after a
// version bump cheap) and the module proxy; nothing in the repository's
// go.mod is involved.
func EnsureBinaries(ctx context.Context, logf Logf) (*Binaries, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	bins := binaries(cache)
	if allComplete(cache, allComponents()) {
		return bins, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("testenv cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cache, ".lock"), logf)
	if err != nil {
		return nil, err
	}
	defer unlock()

	start := time.Now()
	var missing []component
	for _, c := range kubeComponents {
		if !c.complete(cache) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		if err := buildKubernetes(ctx, cache, missing, logf); err != nil {
			return nil, err
		}
	}
	if !etcdComponent.complete(cache) {
		if err := buildEtcd(ctx, cache, logf); err != nil {
			return nil, err
		}
	}
	if !kwokComponent.complete(cache) {
		if err := buildKWOK(ctx, cache, logf); err != nil {
			return nil, err
		}
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		logf("testenv: binaries ready in %s (cache %s)", elapsed.Round(time.Second), cache)
	}
	return bins, nil
}

// binaries returns where the control plane's programs live in cache.
func binaries(cache string) *Binaries {
	return &Binaries{
		APIServer:         kubeComponents[0].path(cache),
		ControllerManager: kubeComponents[1].path(cache),
		Scheduler:         kubeComponents[2].path(cache),
		Kubectl:           kubeComponents[3].path(cache),
		Etcd:              etcdComponent.path(cache),
		KWOK:              kwokComponent.path(cache),
	}
}

// allComponents returns every component of the control plane.
func allComponents() []component {
	return append(append([]component{}, kubeComponents...), etcdComponent, kwokComponent)
}

func allComplete(cache string, cs []component) bool {
	for _, c := range cs {
		if !c.complete(cache) {
			return false
		}
	}
	return true
}

// lockFile takes an exclusive flock, logging once if it has to wait.
func lockFile(ctx context.Context, path string, logf Logf) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testenv cache lock: %w", err)
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		logf("testenv: another process is building the binaries (lock %s); waiting", path)
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
		select {
		case err = <-done:
			logf("testenv: waited %s for the other build", time.Since(start).Round(time.Second))
		case <-ctx.Done():
			f.Close() // the blocked flock goroutine ends with EBADF or gets a lock it releases on exit
			return nil, ctx.Err()
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("testenv cache lock: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// goEnv is the environment of the throwaway builds: static binaries, module
// mode resolved from the throwaway go.mod, no workspace, the local toolchain.
func goEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "CGO_ENABLED", "GOWORK", "GOTOOLCHAIN", "GOOS", "GOARCH", "GOBIN":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "CGO_ENABLED=0", "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off", "GOTOOLCHAIN=local")
}

func goCmd(ctx context.Context, dir string, extraEnv []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(goEnv(), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.Bytes(), 40))
	}
	return stdout.Bytes(), nil
}

// throwawayModule makes a temporary module directory with the given go.mod.
func throwawayModule(gomod string) (string, error) {
	dir, err := os.MkdirTemp("", "pipe-testenv-build-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// stagingReplace matches the replace lines of k8s.io/kubernetes's go.mod that
// point a module at its copy under ./staging/src.
var stagingReplace = regexp.MustCompile(`^\s*(?:replace\s+)?(k8s\.io/[A-Za-z0-9._/-]+)\s*=>\s*\./staging/src/`)

// buildKubernetes builds the Kubernetes programs from a module that requires
// k8s.io/kubernetes. Its go.mod points every staging module at
// ./staging/src/..., which only works inside its repository, so the
// throwaway module re-points each at the published k8s.io/<name>
// StagingVersion.
func buildKubernetes(ctx context.Context, cache string, missing []component, logf Logf) error {
	dir, err := throwawayModule("module pipe.testenv/kubernetes\n\ngo 1.26\n")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	start := time.Now()
	logf("testenv: downloading k8s.io/kubernetes %s", KubernetesVersion)
	out, err := goCmd(ctx, dir, nil, "mod", "download", "-json", "k8s.io/kubernetes@"+KubernetesVersion)
	if err != nil {
		return err
	}
	var info struct{ GoMod, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.GoMod == "" {
		return fmt.Errorf("go mod download k8s.io/kubernetes: no go.mod in %q (%v) %s", out, err, info.Error)
	}
	kmod, err := os.ReadFile(info.GoMod)
	if err != nil {
		return err
	}
	var gomod strings.Builder
	fmt.Fprintf(&gomod, "module pipe.testenv/kubernetes\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n", KubernetesVersion)
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(kmod))
	for sc.Scan() {
		if m := stagingReplace.FindStringSubmatch(sc.Text()); m != nil {
			fmt.Fprintf(&gomod, "\t%s => %s %s\n", m[1], m[1], StagingVersion)
			n++
		}
	}
	gomod.WriteString(")\n")
	if n == 0 {
		return fmt.Errorf("k8s.io/kubernetes %s go.mod (%s): no ./staging/src replace directives found", KubernetesVersion, info.GoMod)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod.String()), 0o644); err != nil {
		return err
	}
	logf("testenv: k8s.io/kubernetes %s downloaded in %s; %d staging modules re-pointed at %s",
		KubernetesVersion, time.Since(start).Round(time.Second), n, StagingVersion)

	major, minor := "1", ""
	if parts := strings.SplitN(strings.TrimPrefix(KubernetesVersion, "v"), ".", 3); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	var ldflags []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ldflags = append(ldflags,
			"-X", pkg+".gitVersion="+KubernetesVersion,
			"-X", pkg+".gitMajor="+major,
			"-X", pkg+".gitMinor="+minor,
			"-X", pkg+".gitTreeState=clean",
			"-X", pkg+".buildDate=1970-01-01T00:00:00Z")
	}
	ld := "-s -w " + strings.Join(ldflags, " ")
	for _, c := range missing {
		start := time.Now()
		logf("testenv: building %s %s", c.name, c.version)
		bin := filepath.Join(dir, "bin", c.name)
		if _, err := goCmd(ctx, dir, nil, "build", "-trimpath", "-ldflags", ld, "-o", bin, "k8s.io/kubernetes/cmd/"+c.name); err != nil {
			return err
		}
		if err := c.install(cache, bin); err != nil {
			return err
		}
		logf("testenv: built %s in %s", c.name, time.Since(start).Round(time.Second))
	}
	return nil
}

// buildEtcd builds etcd from go.etcd.io/etcd/server/v3, whose package main
// is the etcd server. Its own replace directives only point at sibling
// directories of the etcd repository, which the published modules of the
// same version stand for, so the throwaway module needs none.
func buildEtcd(ctx context.Context, cache string, logf Logf) error {
	dir, err := throwawayModule(fmt.Sprintf("module pipe.testenv/etcd\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %s\n", EtcdVersion))
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	logf("testenv: building etcd %s", EtcdVersion)
	bin := filepath.Join(dir, "bin", "etcd")
	if _, err := goCmd(ctx, dir, nil, "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "go.etcd.io/etcd/server/v3"); err != nil {
		return err
	}
	if err := etcdComponent.install(cache, bin); err != nil {
		return err
	}
	logf("testenv: built etcd in %s", time.Since(start).Round(time.Second))
	return nil
}

// buildKWOK installs KWOK with `go install ...@version` into a temporary GOBIN.
func buildKWOK(ctx context.Context, cache string, logf Logf) error {
	dir, err := os.MkdirTemp("", "pipe-testenv-kwok-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	logf("testenv: building kwok %s", KWOKVersion)
	ld := "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=" + KWOKVersion
	if _, err := goCmd(ctx, dir, []string{"GOBIN=" + dir}, "install", "-trimpath", "-ldflags", ld, "sigs.k8s.io/kwok/cmd/kwok@"+KWOKVersion); err != nil {
		return err
	}
	if err := kwokComponent.install(cache, filepath.Join(dir, "kwok")); err != nil {
		return err
	}
	logf("testenv: built kwok in %s", time.Since(start).Round(time.Second))
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// The exported helpers below let the other builders of internal/testenv
// (tfbin: OpenTofu and Terraform) cache their programs the same way: one
// directory per name and version, atomic install, an flock'd build.

// LockFile takes an exclusive flock on path (created if missing), waiting for
// another process that holds it, logging once if it has to. The returned
// function releases it.
func LockFile(ctx context.Context, path string, logf Logf) (func(), error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return lockFile(ctx, path, logf)
}

// CachedBinary returns where the program name at version lives in cache
// (<cache>/<name>-<version>/<name>) and whether it is completely installed.
func CachedBinary(cache, name, version string) (path string, complete bool) {
	c := component{name, version}
	return c.path(cache), c.complete(cache)
}

// CachedBinaries returns the control plane's programs in cache when they are
// all completely installed (what EnsureBinaries would return without
// building); else nil and the name of the first one missing.
func CachedBinaries(cache string) (bins *Binaries, missing string) {
	for _, c := range allComponents() {
		if !c.complete(cache) {
			return nil, c.name
		}
	}
	return binaries(cache), ""
}

// InstallCachedBinary copies the built program into its place in cache
// atomically (see CachedBinary): a build interrupted at any point leaves
// nothing that looks complete.
func InstallCachedBinary(cache, name, version, built string) error {
	return component{name, version}.install(cache, built)
}

// ThrowawayModule makes a temporary directory holding a go.mod with the given
// content; the caller removes it.
func ThrowawayModule(gomod string) (string, error) { return throwawayModule(gomod) }

// GoCmd runs the go command in dir with the environment of the throwaway
// builds (CGO_ENABLED=0, GOFLAGS=-mod=mod -buildvcs=false, GOWORK=off,
// GOTOOLCHAIN=local) plus extraEnv, and returns its stdout. Its error carries
// the last lines of stderr.
func GoCmd(ctx context.Context, dir string, extraEnv []string, args ...string) ([]byte, error) {
	return goCmd(ctx, dir, extraEnv, args...)
}
