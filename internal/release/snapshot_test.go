package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReleaseSnapshot builds a release snapshot as goreleaser.yaml describes
// it, without goreleaser (not a dependency of this module): its build
// (main package, env, flags, ldflags with a stamped version) for the
// configured targets, archives named by its name template holding the binary
// and its files, and the checksums file. It then checks the binaries (target,
// static, build settings, `pipe version`) and installs the snapshot with
// install.sh from a local server.
//
// Builds share the go build cache, so a warm run only links. Normal runs
// build linux/amd64 (the binary whose `pipe version` is checked) and the
// host's platform; PIPE_RELEASE_FULL=1 builds every
// configured target. -short skips the test.
func TestReleaseSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pipe for several platforms; run without -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH; the release snapshot is built with it")
	}
	cfg := readGoreleaserConfig(t)
	b := cfg.Builds[0]
	targets := snapshotTargets(t, b.Goos, b.Goarch, os.Getenv("PIPE_RELEASE_FULL") == "1")

	const version, commit, date = "1.2.3-snapshot", "0123456789abcdef0123456789abcdef01234567", "2026-01-02T03:04:05Z"
	ldflags := render(t, "builds.ldflags", strings.Join(b.Ldflags, " "),
		map[string]string{"Version": version, "Commit": commit, "Date": date})
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	extra := archiveFiles(t, root, cfg.Archives[0].Files)
	dist := t.TempDir()

	var sums strings.Builder
	bins := map[Platform]string{}
	for _, p := range targets {
		bin := filepath.Join(dist, "build", p.OS+"_"+p.Arch, BinaryFile(p.OS))
		args := append([]string{"build"}, b.Flags...)
		args = append(args, "-ldflags", ldflags, "-o", bin, b.Main)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		cmd := exec.CommandContext(ctx, goTool, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), b.Env...)
		// goreleaser's default microarchitecture levels (also Go's).
		cmd.Env = append(cmd.Env, "GOOS="+p.OS, "GOARCH="+p.Arch, "GOAMD64=v1", "GOARM64=v8.0")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s/%s: go %s: %v\n%s", p.OS, p.Arch, strings.Join(args, " "), err, out)
		}
		t.Logf("built %s/%s in %s", p.OS, p.Arch, time.Since(start).Round(100*time.Millisecond))
		bins[p] = bin
		checkBinary(t, bin, p, b.Env, version, commit, date)

		name := ArchiveName(version, p.OS, p.Arch)
		base := render(t, "archives.name_template", cfg.Archives[0].NameTemplate,
			templateData{ProjectName: cfg.ProjectName, Version: version, Os: p.OS, Arch: p.Arch})
		if got := base + "." + ArchiveFormat(p.OS); got != name {
			t.Fatalf("%s/%s: goreleaser.yaml names the archive %q, ArchiveName %q", p.OS, p.Arch, got, name)
		}
		body := snapshotArchive(t, p, bin, extra)
		if err := os.WriteFile(filepath.Join(dist, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	checksums := render(t, "checksum.name_template", cfg.Checksum.NameTemplate, templateData{ProjectName: cfg.ProjectName, Version: version})
	if checksums != ChecksumsName(version) {
		t.Fatalf("goreleaser.yaml names the checksums file %q, ChecksumsName %q", checksums, ChecksumsName(version))
	}
	if err := os.WriteFile(filepath.Join(dist, checksums), []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	linux := Platform{"linux", "amd64"}
	if host := (Platform{runtime.GOOS, runtime.GOARCH}); host == linux {
		checkVersionOutput(t, bins[linux], linux, version, commit, date)
	} else {
		t.Logf("the linux/amd64 binary's `pipe version` is not run on this %s/%s host", host.OS, host.Arch)
	}
	installSnapshot(t, dist, targets, version, commit, date)
}

// snapshotTargets returns the platforms to build: the configured goos x
// goarch (which must be Platforms()); all of them, or only linux/amd64 and
// the host's.
func snapshotTargets(t *testing.T, goos, goarch []string, full bool) []Platform {
	t.Helper()
	var all []Platform
	for _, o := range goos {
		for _, a := range goarch {
			all = append(all, Platform{o, a})
		}
	}
	if !sameSet(platformStrings(all), platformStrings(Platforms())) {
		t.Fatalf("goreleaser.yaml builds %v, Platforms() is %v", all, Platforms())
	}
	if full {
		return all
	}
	// A cold cross build costs minutes of CPU: the everyday run builds
	// the binary whose version it runs (shared with the image tests
	// through the build cache) and the host's.
	want := []Platform{{"linux", "amd64"}, {runtime.GOOS, runtime.GOARCH}}
	return slices.DeleteFunc(all, func(p Platform) bool { return !slices.Contains(want, p) })
}

func platformStrings(ps []Platform) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.OS+"/"+p.Arch)
	}
	return out
}

// archiveFiles resolves the archive's extra files (globs, relative to the
// repository root) as goreleaser does: names relative to root.
func archiveFiles(t *testing.T, root string, globs []string) []string {
	t.Helper()
	var files []string
	for _, g := range globs {
		matches, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			t.Fatalf("archives.files %q: %v", g, err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(root, m)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	if !slices.Contains(files, "README.md") {
		t.Fatalf("archives.files %q match %q, not README.md", globs, files)
	}
	return files
}

// snapshotArchive packs bin at the archive root next to files (relative to
// the repository root), in p's archive format, as goreleaser does.
func snapshotArchive(t *testing.T, p Platform, bin string, files []string) []byte {
	t.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	members := []archiveMember{{BinaryFile(p.OS), 0o755, data}}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, archiveMember{f, 0o644, data})
	}
	return packArchive(t, ArchiveFormat(p.OS), members)
}

// installSnapshot serves the snapshot as a GitHub release and installs the
// host's build with install.sh, then runs the installed pipe.
func installSnapshot(t *testing.T, dist string, targets []Platform, version, commit, date string) {
	t.Helper()
	host, ok := hostPlatform()
	if !ok || !slices.Contains(targets, host) {
		t.Logf("install.sh is not run: no snapshot build for this %s/%s host", host.OS, host.Arch)
		return
	}
	requireSh(t)
	gh, srv := newFakeGitHub(t)
	tag := "v" + version
	for _, name := range []string{ArchiveName(version, host.OS, host.Arch), ChecksumsName(version)} {
		data, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		gh.set("/download/"+tag+"/"+name, data)
	}
	in := newInstaller(t, srv)
	res := in.run(nil, "--version", tag, "--bin-dir", in.binDir)
	if res.code != 0 || !strings.Contains(res.stderr, "verified sha256 of "+ArchiveName(version, host.OS, host.Arch)) {
		t.Fatalf("install.sh of the snapshot exited %d\nstderr:\n%s", res.code, res.stderr)
	}
	checkVersionOutput(t, filepath.Join(in.binDir, BinaryFile(host.OS)), host, version, commit, date)
}
