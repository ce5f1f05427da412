package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixtures of install_test.go: a fake release, a fake GitHub serving it, and
// a runner of install.sh.

const testTag = "v1.2.3"

// fakePipe is the "pipe" binary of a release: a script that names its platform,
// so that a test can tell which archive was installed.
func fakePipe(p Platform) []byte {
	return fmt.Appendf(nil, "#!/bin/sh\necho 'pipe %s %s/%s (fake)'\n", testTag, p.OS, p.Arch)
}

// archive builds the release archive of p, in p's format, holding the binary
// at its root next to a README.md, as goreleaser does.
func archive(t *testing.T, p Platform, binary []byte) []byte {
	t.Helper()
	return packArchive(t, ArchiveFormat(p.OS), []archiveMember{
		{BinaryFile(p.OS), 0o755, binary},
		{"README.md", 0o644, []byte("# pipe\n")},
	})
}

// archiveMember is one regular file of a release archive.
type archiveMember struct {
	name string
	mode int64
	body []byte
}

// packArchive writes members, in order, into a "zip" or "tar.gz" archive.
func packArchive(t *testing.T, format string, members []archiveMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	if format == "zip" {
		zw := zip.NewWriter(&buf)
		for _, m := range members {
			h := &zip.FileHeader{Name: m.name, Method: zip.Deflate}
			h.SetMode(os.FileMode(m.mode))
			w, err := zw.CreateHeader(h)
			if err == nil {
				_, err = w.Write(m.body)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Mode: m.mode, Size: int64(len(m.body)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fakeSignature is the stand-in for the Sigstore bundle that signs a
// checksums file: it names the sha256 of the content it "signs", which is
// what fakeCosign checks.
func fakeSignature(checksums []byte) []byte {
	sum := sha256.Sum256(checksums)
	return fmt.Appendf(nil, `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","fakeSignatureOf":"%x"}`+"\n", sum)
}

// fakeGitHub serves a release of testTag for every platform, its checksums
// file and that file's signature, and the "latest release" API, and records
// the requests it gets.
type fakeGitHub struct {
	mu       sync.Mutex
	files    map[string][]byte // URL path -> body
	requests []*http.Request
}

func newFakeGitHub(t *testing.T) (*fakeGitHub, *httptest.Server) {
	t.Helper()
	gh := &fakeGitHub{files: map[string][]byte{}}
	var sums strings.Builder
	for _, p := range Platforms() {
		name := ArchiveName(testTag, p.OS, p.Arch)
		body := archive(t, p, fakePipe(p))
		sum := sha256.Sum256(body)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
		gh.files["/download/"+testTag+"/"+name] = body
	}
	gh.files["/download/"+testTag+"/"+ChecksumsName(testTag)] = []byte(sums.String())
	gh.files["/download/"+testTag+"/"+SignatureName(testTag)] = fakeSignature([]byte(sums.String()))
	gh.files["/api/repos/gitops-pipe/pipe/releases/latest"] = []byte(
		`{"url":"x","id":1,"tag_name":"` + testTag + `","name":"pipe ` + testTag + `","draft":false,"assets":[{"name":"a"}]}`)
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	return gh, srv
}

func (gh *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	gh.requests = append(gh.requests, r.Clone(context.Background()))
	body, ok := gh.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	_, _ = w.Write(body)
}

func (gh *fakeGitHub) set(path string, body []byte) {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	gh.files[path] = body
}

func (gh *fakeGitHub) remove(path string) {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	delete(gh.files, path)
}

// received returns the requests served so far, in order.
func (gh *fakeGitHub) received() []*http.Request {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	return slices.Clone(gh.requests)
}

// paths returns the URL paths of the requests served so far, in order.
func (gh *fakeGitHub) paths() []string {
	var out []string
	for _, r := range gh.received() {
		out = append(out, r.URL.Path)
	}
	return out
}

// installer runs install.sh in a controlled environment.
type installer struct {
	t      *testing.T
	srv    *httptest.Server
	binDir string // --bin-dir / PIPE_INSTALL_DIR of the test
	tmpDir string // TMPDIR: install.sh's temp dir must not outlive it
}

type result struct {
	code           int
	stdout, stderr string
}

func newInstaller(t *testing.T, srv *httptest.Server) *installer {
	return &installer{t: t, srv: srv, binDir: filepath.Join(t.TempDir(), "bin"), tmpDir: t.TempDir()}
}

// run runs `sh install.sh args...` with env added to a cleaned environment.
// cosign is absent (PIPE_INSTALL_COSIGN names a missing file) unless env sets
// PIPE_INSTALL_COSIGN, so that a cosign installed here changes no test.
func (in *installer) run(env map[string]string, args ...string) result {
	t := in.t
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", append([]string{script}, args...)...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PIPE_") || k == "GITHUB_TOKEN" || k == "HOME" || k == "TMPDIR" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env,
		"HOME="+t.TempDir(),
		"TMPDIR="+in.tmpDir,
		"PIPE_DOWNLOAD_BASE_URL="+in.srv.URL+"/download",
		"PIPE_GITHUB_API_URL="+in.srv.URL+"/api",
		"PIPE_INSTALL_COSIGN="+filepath.Join(t.TempDir(), "absent", "cosign"),
	)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("install.sh: %v\nstderr:\n%s", err, res.stderr)
	}
	if entries, _ := os.ReadDir(in.tmpDir); len(entries) > 0 {
		t.Errorf("install.sh left %d entries in TMPDIR (its trap should remove its temp dir)", len(entries))
	}
	return res
}

// installed checks that the binary of p was installed and runs.
func (in *installer) installed(res result, p Platform) {
	t := in.t
	t.Helper()
	if res.code != 0 {
		t.Fatalf("install.sh exited %d\nstderr:\n%s", res.code, res.stderr)
	}
	bin := filepath.Join(in.binDir, BinaryFile(p.OS))
	got, err := os.ReadFile(bin)
	if err != nil {
		t.Fatalf("binary not installed: %v\nstderr:\n%s", err, res.stderr)
	}
	if !bytes.Equal(got, fakePipe(p)) {
		t.Fatalf("installed %s holds %q, want the %s/%s build", bin, got, p.OS, p.Arch)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("installed binary does not run: %v: %s", err, out)
	}
	if want := fmt.Sprintf("pipe %s %s/%s (fake)", testTag, p.OS, p.Arch); strings.TrimSpace(string(out)) != want {
		t.Errorf("installed binary printed %q, want %q", out, want)
	}
	if !strings.Contains(res.stderr, "verified sha256 of "+ArchiveName(testTag, p.OS, p.Arch)) ||
		!strings.Contains(res.stderr, "installed pipe "+testTag) {
		t.Errorf("stderr does not report verification and installation:\n%s", res.stderr)
	}
}

// refused checks that install.sh failed with a message and installed nothing.
func (in *installer) refused(res result, wantMsg string) {
	t := in.t
	t.Helper()
	if res.code == 0 {
		t.Fatalf("install.sh succeeded, want a failure\nstderr:\n%s", res.stderr)
	}
	if !strings.Contains(res.stderr, wantMsg) {
		t.Errorf("stderr lacks %q:\n%s", wantMsg, res.stderr)
	}
	if entries, err := os.ReadDir(in.binDir); err == nil && len(entries) > 0 {
		t.Errorf("bin dir is not empty after a refused install: %v", entries)
	}
}

// fakeCosign is a cosign stand-in for install.sh: it records its arguments
// and the files it was given, and "verifies" a bundle of fakeSignature by
// checking that it names the sha256 of the blob, so that an altered checksums
// file fails as it would with the real cosign.
type fakeCosign struct {
	dir string // holds the cosign script: put it first on PATH
	log string // where the script records what it got
}

// newFakeCosign writes the stand-in; with reject, it refuses every signature
// (as cosign does for another signer's certificate).
func newFakeCosign(t *testing.T, reject bool) *fakeCosign {
	t.Helper()
	c := &fakeCosign{dir: t.TempDir(), log: t.TempDir()}
	script := `#!/bin/sh
log='` + c.log + `'
reject=` + fmt.Sprint(reject) + `
printf '%s\n' "$@" >"$log/args"
bundle= blob=
while [ $# -gt 0 ]; do
	case $1 in
	--bundle) bundle=$2; shift 2 ;;
	--new-bundle-format) shift ;;
	--*) shift 2 ;;
	*) blob=$1; shift ;;
	esac
done
if [ ! -f "$bundle" ] || [ ! -f "$blob" ]; then
	echo "Error: fake cosign: no bundle or blob file" >&2
	exit 2
fi
cp "$bundle" "$log/bundle"
cp "$blob" "$log/blob"
if command -v sha256sum >/dev/null 2>&1; then
	sum=$(sha256sum "$blob" | cut -d ' ' -f 1)
else
	sum=$(shasum -a 256 "$blob" | cut -d ' ' -f 1)
fi
if [ "$reject" = true ]; then
	echo "Error: none of the expected identities matched what was in the certificate" >&2
	exit 1
fi
if ! grep -q "\"fakeSignatureOf\":\"$sum\"" "$bundle"; then
	echo "Error: invalid signature when validating ASN.1 encoded signature" >&2
	exit 1
fi
echo "Verified OK" >&2
`
	if err := os.WriteFile(filepath.Join(c.dir, "cosign"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return c
}

// env returns the environment that makes install.sh find the stand-in as
// "cosign" on PATH.
func (c *fakeCosign) env() map[string]string {
	return map[string]string{"PIPE_INSTALL_COSIGN": "", "PATH": c.dir + string(os.PathListSeparator) + os.Getenv("PATH")}
}

// called returns the arguments the stand-in was run with, and the bundle and
// blob files it was given; called is false if it never ran.
func (c *fakeCosign) called(t *testing.T) (args []string, bundle, blob []byte, called bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.log, "args"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ = os.ReadFile(filepath.Join(c.log, "bundle"))
	blob, _ = os.ReadFile(filepath.Join(c.log, "blob"))
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"), bundle, blob, true
}

func requireSh(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sh is not installed")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		if _, err := exec.LookPath("wget"); err != nil {
			t.Fatal("install.sh needs curl or wget; neither is installed (.ci/run installs them)")
		}
	}
}

// hostPlatform is the platform install.sh detects here, if pipe is released for it.
func hostPlatform() (Platform, bool) {
	p := Platform{runtime.GOOS, runtime.GOARCH}
	return p, slices.Contains(Platforms(), p) && p.OS != "windows"
}
