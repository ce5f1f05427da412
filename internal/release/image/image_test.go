package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The real binaries: pipe built as goreleaser.yaml builds it (CGO_ENABLED=0,
// -trimpath, the same -X version stamping), once per test binary, for
// linux/amd64 and linux/arm64. The Go build cache makes the second run of
// the tests fast.
const (
	testVersion  = "9.8.7-imagetest"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
	cliPkg       = "github.com/gitops-pipe/pipe/internal/cli"
)

var testCreated = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

var pipeBuilds struct {
	once sync.Once
	dir  string
	bins []Binary
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pipeBuilds.dir != "" {
		os.RemoveAll(pipeBuilds.dir)
	}
	os.Exit(code)
}

// releaseArchs are the architectures the tests build pipe for: linux/amd64
// (whose build the release tests share through the Go build cache), and
// with PIPE_RELEASE_FULL=1 linux/arm64 as well. A cold cross build of pipe
// costs minutes of CPU; the multi-platform index itself is covered by the
// unit tests' binaries.
func releaseArchs() []string {
	if os.Getenv("PIPE_RELEASE_FULL") == "1" {
		return []string{"amd64", "arm64"}
	}
	return []string{"amd64"}
}

// realBinaries builds ./cmd/pipe for releaseArchs.
func realBinaries(t *testing.T) []Binary {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the build of pipe")
	}
	pipeBuilds.once.Do(func() {
		pipeBuilds.dir, pipeBuilds.err = os.MkdirTemp("", "pipe-image-test-")
		if pipeBuilds.err != nil {
			return
		}
		out, err := exec.Command("go", "env", "GOMOD").Output()
		root := filepath.Dir(strings.TrimSpace(string(out)))
		if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "go.mod") {
			pipeBuilds.err = fmt.Errorf("finding the module root (go env GOMOD = %q): %v", out, err)
			return
		}
		ldflags := fmt.Sprintf("-s -w -X %s.Version=%s -X %s.Commit=%s -X %s.Date=%s",
			cliPkg, testVersion, cliPkg, testRevision, cliPkg, testCreated.Format(time.RFC3339))
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		for _, arch := range releaseArchs() {
			bin := filepath.Join(pipeBuilds.dir, "linux_"+arch, "pipe")
			cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./cmd/pipe")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				pipeBuilds.err = fmt.Errorf("go build ./cmd/pipe for linux/%s: %v\n%s", arch, err, out)
				return
			}
			// Shown with -v: the cost of the build (cold or from the cache).
			fmt.Fprintf(os.Stderr, "built pipe for linux/%s in %s\n", arch, time.Since(start).Round(100*time.Millisecond))
			pipeBuilds.bins = append(pipeBuilds.bins, Binary{Platform: v1.Platform{OS: "linux", Architecture: arch}, Path: bin})
		}
	})
	if pipeBuilds.err != nil {
		t.Fatal(pipeBuilds.err)
	}
	return pipeBuilds.bins
}

func releaseOptions(t *testing.T) Options {
	t.Helper()
	return Options{
		Binaries: realBinaries(t),
		Base:     scratch(t),
		Version:  testVersion,
		Revision: testRevision,
		Created:  testCreated,
	}
}

var releaseBuild struct {
	once sync.Once
	idx  v1.ImageIndex
	err  error
	took time.Duration
}

// releaseIndex is the image of the real binaries, built once for the tests
// that only read it.
func releaseIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	opts := releaseOptions(t)
	releaseBuild.once.Do(func() {
		start := time.Now()
		releaseBuild.idx, releaseBuild.err = Build(context.Background(), opts)
		releaseBuild.took = time.Since(start)
	})
	if releaseBuild.err != nil {
		t.Fatalf("Build: %v", releaseBuild.err)
	}
	return releaseBuild.idx
}

// TestImageLayoutRunsPipeVersion builds the image of the real binaries
// into an OCI layout twice (the same digest), reads it back, and runs
// `pipe version` from the image's flattened filesystem.
func TestImageLayoutRunsPipeVersion(t *testing.T) {
	opts := releaseOptions(t)
	idx := releaseIndex(t)
	dirs := []string{filepath.Join(t.TempDir(), "image"), filepath.Join(t.TempDir(), "image")}
	start := time.Now()
	if err := WriteLayout(dirs[0], idx, testVersion); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the image in %s, wrote the layout in %s", releaseBuild.took.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
	// The same inputs again, from a fresh base: the same layout.
	if err := WriteLayout(dirs[1], build(t, opts), testVersion); err != nil {
		t.Fatal(err)
	}
	var indexJSON [2][]byte
	for i, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		indexJSON[i] = b
	}
	if !bytes.Equal(indexJSON[0], indexJSON[1]) {
		t.Fatalf("two builds of the same inputs differ:\n%s\n%s", indexJSON[0], indexJSON[1])
	}
	if err := WriteLayout(dirs[0], idx, testVersion); err == nil || !strings.Contains(err.Error(), "is not empty; remove it first") {
		t.Errorf("writing over a layout: %v", err)
	}

	outer, err := layout.ImageIndexFromPath(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	om, err := outer.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(om.Manifests) != 1 || om.Manifests[0].Annotations[RefNameAnnotation] != testVersion || !om.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("layout index.json = %+v, want one index named %s", om.Manifests, testVersion)
	}
	read, err := outer.ImageIndex(om.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := digest(t, read), digest(t, idx); got != want {
		t.Errorf("the layout holds index %s, built %s", got, want)
	}
	if err := validate.Index(read); err != nil {
		t.Errorf("the layout's index is not valid: %v", err)
	}

	for _, b := range opts.Binaries {
		img, desc := platformImage(t, read, b.Platform.Architecture)
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.Entrypoint[0] != BinaryPath || cf.Config.User != "65532:65532" || cf.Config.WorkingDir != WorkingDir {
			t.Errorf("%s config = %+v", platformString(*desc.Platform), cf.Config)
		}
		for k, want := range map[string]string{
			"org.opencontainers.image.version":  testVersion,
			"org.opencontainers.image.revision": testRevision,
			"org.opencontainers.image.created":  "2025-06-01T12:00:00Z",
			"org.opencontainers.image.source":   SourceURL,
		} {
			if got := cf.Config.Labels[k]; got != want {
				t.Errorf("%s label %s = %q, want %q", platformString(*desc.Platform), k, got, want)
			}
		}
		if b.Platform.Architecture != runtime.GOARCH || runtime.GOOS != "linux" {
			continue
		}
		root := t.TempDir()
		extract(t, img, root)
		wantCA, err := os.ReadFile(testCABundle(t))
		if err != nil {
			t.Fatal(err)
		}
		if ca, err := os.ReadFile(filepath.Join(root, caBundlePath)); err != nil || !bytes.Equal(ca, wantCA) {
			t.Errorf("the image's %s is not the CA bundle given (%v)", caBundlePath, err)
		}
		pipe := filepath.Join(root, BinaryPath)
		cmd := exec.Command(pipe, "version", "-o", "json")
		cmd.Dir = filepath.Join(root, WorkingDir)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + filepath.Join(root, "usr/local/bin")}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s version -o json: %v\n%s", pipe, err, stderrOf(err))
		}
		var v struct{ Version, Commit, Date, Platform string }
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("pipe version -o json printed %q: %v", out, err)
		}
		if v.Version != testVersion || v.Commit != testRevision || v.Date != "2025-06-01T12:00:00Z" || v.Platform != "linux/"+runtime.GOARCH {
			t.Errorf("pipe version -o json from the image = %+v, want version %s, commit %s, platform linux/%s", v, testVersion, testRevision, runtime.GOARCH)
		}
		out, err = exec.Command(pipe, "version").Output()
		if want := "pipe " + testVersion + " (0123456789ab, 2025-06-01T12:00:00Z)\n"; err != nil || string(out) != want {
			t.Errorf("pipe version from the image printed %q (%v), want %q", out, err, want)
		}
	}
}

// TestImagePushAndPull pushes the image of the real binaries to an
// in-process registry and pulls back the same index and images.
func TestImagePushAndPull(t *testing.T) {
	idx := releaseIndex(t)
	want := digest(t, idx)
	host := testRegistry(t)
	ref := host + "/gitops-pipe/pipe:" + testVersion

	start := time.Now()
	pushed, err := Push(context.Background(), idx, ref)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pushed in %s", time.Since(start).Round(100*time.Millisecond))
	if got, wantRef := pushed.String(), host+"/gitops-pipe/pipe@"+want.String(); got != wantRef {
		t.Errorf("Push returned %s, want %s", got, wantRef)
	}
	// A second tag: the blobs are there already.
	if again, err := Push(context.Background(), idx, host+"/gitops-pipe/pipe:latest"); err != nil || again != pushed {
		t.Errorf("pushing the latest tag: %v, %v", again, err)
	}

	for _, r := range []string{ref, host + "/gitops-pipe/pipe:latest", pushed.String()} {
		parsed, err := name.ParseReference(r)
		if err != nil {
			t.Fatal(err)
		}
		pulled, err := remote.Index(parsed)
		if err != nil {
			t.Fatalf("pulling %s: %v", r, err)
		}
		if got := digest(t, pulled); got != want {
			t.Errorf("pulled %s as %s, pushed %s", r, got, want)
		}
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range releaseArchs() {
		img, err := remote.Image(tag, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))
		if err != nil {
			t.Fatalf("pulling linux/%s: %v", arch, err)
		}
		local, _ := platformImage(t, idx, arch)
		if got, want := digest(t, img), digest(t, local); got != want {
			t.Errorf("pulled linux/%s image %s, pushed %s", arch, got, want)
		}
		if err := validate.Image(img, validate.Fast); err != nil {
			t.Errorf("pulled linux/%s image is not valid: %v", arch, err)
		}
	}

	if _, err := Push(context.Background(), idx, "pipe:latest"); err == nil || !strings.Contains(err.Error(), `push destination "pipe:latest" is not REGISTRY/REPOSITORY:TAG`) {
		t.Errorf("push to a short name: %v", err)
	}
	if _, err := Push(context.Background(), idx, pushed.String()); err == nil || !strings.Contains(err.Error(), "is not REGISTRY/REPOSITORY:TAG") {
		t.Errorf("push to a digest: %v", err)
	}
}
