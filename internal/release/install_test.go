package release

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// These tests run the real install.sh with sh against a local HTTP server
// (httptest, 127.0.0.1) that plays GitHub: release downloads under
// /download/<tag>/ (PIPE_DOWNLOAD_BASE_URL) and the REST API under /api/
// (PIPE_GITHUB_API_URL). The released "pipe" is a tiny shell script, so no Go
// build is needed. PIPE_INSTALL_UNAME_S and PIPE_INSTALL_UNAME_M, install.sh's
// test-only overrides of `uname -s` and `uname -m`, stand in for other
// platforms. Fixtures are in fakerelease_test.go.

func TestInstallHostPlatform(t *testing.T) {
	requireSh(t)
	host, ok := hostPlatform()
	if !ok {
		t.Skipf("pipe is not released for %s/%s", host.OS, host.Arch)
	}
	for _, dl := range []string{"curl", "wget"} {
		t.Run(dl, func(t *testing.T) {
			if _, err := exec.LookPath(dl); err != nil {
				t.Skipf("%s is not installed", dl)
			}
			gh, srv := newFakeGitHub(t)
			in := newInstaller(t, srv)
			res := in.run(map[string]string{"PIPE_INSTALL_DOWNLOADER": dl},
				"--version", testTag, "--bin-dir", in.binDir)
			in.installed(res, host)
			want := []string{
				"/download/" + testTag + "/" + ArchiveName(testTag, host.OS, host.Arch),
				"/download/" + testTag + "/" + ChecksumsName(testTag),
			}
			if got := gh.paths(); !slices.Equal(got, want) {
				t.Errorf("requests %q, want %q", got, want)
			}
		})
	}
}

func TestInstallVersionAndDirFromEnv(t *testing.T) {
	requireSh(t)
	_, srv := newFakeGitHub(t)
	in := newInstaller(t, srv)
	// A version without its "v" names the same release.
	res := in.run(map[string]string{
		"PIPE_VERSION": strings.TrimPrefix(testTag, "v"), "PIPE_INSTALL_DIR": in.binDir,
		"PIPE_INSTALL_UNAME_S": "Linux", "PIPE_INSTALL_UNAME_M": "x86_64",
	})
	in.installed(res, Platform{"linux", "amd64"})
}

func TestInstallPlatformDetection(t *testing.T) {
	requireSh(t)
	for _, tc := range []struct {
		unameS, unameM string
		want           Platform
	}{
		{"Linux", "x86_64", Platform{"linux", "amd64"}},
		{"Linux", "aarch64", Platform{"linux", "arm64"}},
		{"Darwin", "x86_64", Platform{"darwin", "amd64"}},
		{"Darwin", "arm64", Platform{"darwin", "arm64"}},
		{"MINGW64_NT-10.0-19045", "x86_64", Platform{"windows", "amd64"}},
		{"MSYS_NT-10.0", "arm64", Platform{"windows", "arm64"}},
	} {
		t.Run(tc.unameS+"_"+tc.unameM, func(t *testing.T) {
			if tc.want.OS == "windows" {
				if _, err := exec.LookPath("unzip"); err != nil {
					t.Fatal("unzip is needed to install Windows zips; it is not installed (.ci/run installs it)")
				}
			}
			gh, srv := newFakeGitHub(t)
			in := newInstaller(t, srv)
			res := in.run(map[string]string{"PIPE_INSTALL_UNAME_S": tc.unameS, "PIPE_INSTALL_UNAME_M": tc.unameM},
				"--version", testTag, "--bin-dir", in.binDir)
			in.installed(res, tc.want)
			if got := gh.paths(); len(got) == 0 || filepath.Base(got[0]) != ArchiveName(testTag, tc.want.OS, tc.want.Arch) {
				t.Errorf("requests %q, want the %s/%s archive first", got, tc.want.OS, tc.want.Arch)
			}
		})
	}
}

func TestInstallLatest(t *testing.T) {
	requireSh(t)
	gh, srv := newFakeGitHub(t)
	in := newInstaller(t, srv)
	res := in.run(map[string]string{
		"GITHUB_TOKEN":         "test-token",
		"PIPE_INSTALL_UNAME_S": "Linux", "PIPE_INSTALL_UNAME_M": "aarch64",
	}, "--bin-dir", in.binDir)
	in.installed(res, Platform{"linux", "arm64"})

	reqs := gh.received()
	if len(reqs) != 3 || reqs[0].URL.Path != "/api/repos/gitops-pipe/pipe/releases/latest" {
		t.Fatalf("requests %q, want the latest-release API, then the archive and checksums", gh.paths())
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer test-token" {
		t.Errorf("API request Authorization = %q, want the GITHUB_TOKEN", got)
	}
	for _, r := range reqs[1:] {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("GITHUB_TOKEN sent with download %s; it is for the API only", r.URL.Path)
		}
		if !strings.HasPrefix(r.URL.Path, "/download/"+testTag+"/") {
			t.Errorf("download %s is not from the latest release %s", r.URL.Path, testTag)
		}
	}
}

func TestInstallRefusesTamperedArchive(t *testing.T) {
	requireSh(t)
	gh, srv := newFakeGitHub(t)
	p := Platform{"linux", "amd64"}
	// Same name, other bytes: the checksums file still has the original's sum.
	evil := archive(t, p, []byte("#!/bin/sh\necho pwned\n"))
	gh.set("/download/"+testTag+"/"+ArchiveName(testTag, p.OS, p.Arch), evil)
	in := newInstaller(t, srv)
	res := in.run(map[string]string{"PIPE_INSTALL_UNAME_S": "Linux", "PIPE_INSTALL_UNAME_M": "x86_64"},
		"--version", testTag, "--bin-dir", in.binDir)
	in.refused(res, "checksum mismatch for "+ArchiveName(testTag, p.OS, p.Arch))
	in.refused(res, "refusing to install")
}

func TestInstallRefusesArchiveMissingFromChecksums(t *testing.T) {
	requireSh(t)
	gh, srv := newFakeGitHub(t)
	name := ArchiveName(testTag, "linux", "amd64")
	sumsPath := "/download/" + testTag + "/" + ChecksumsName(testTag)
	var kept []string
	for line := range strings.Lines(string(gh.files[sumsPath])) {
		if !strings.Contains(line, name) {
			kept = append(kept, line)
		}
	}
	gh.set(sumsPath, []byte(strings.Join(kept, "")))
	in := newInstaller(t, srv)
	res := in.run(map[string]string{"PIPE_INSTALL_UNAME_S": "Linux", "PIPE_INSTALL_UNAME_M": "x86_64"},
		"--version", testTag, "--bin-dir", in.binDir)
	in.refused(res, name+" is not listed in "+ChecksumsName(testTag))
}

func TestInstallFailsClearly(t *testing.T) {
	requireSh(t)
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantMsg string
		offline bool // fails before any request
	}{
		{"unsupported arch", map[string]string{"PIPE_INSTALL_UNAME_S": "Linux", "PIPE_INSTALL_UNAME_M": "riscv64"},
			nil, "unsupported architecture: riscv64", true},
		{"unsupported os", map[string]string{"PIPE_INSTALL_UNAME_S": "FreeBSD", "PIPE_INSTALL_UNAME_M": "x86_64"},
			nil, "unsupported operating system: FreeBSD", true},
		{"unknown release", map[string]string{"PIPE_INSTALL_UNAME_S": "Linux", "PIPE_INSTALL_UNAME_M": "x86_64"},
			[]string{"--version", "v9.9.9"}, "could not download", false},
		{"invalid version", map[string]string{"PIPE_INSTALL_UNAME_S": "Linux", "PIPE_INSTALL_UNAME_M": "x86_64"},
			[]string{"--version", "../../etc"}, "invalid version", true},
		{"unknown flag", nil, []string{"--frobnicate"}, "unknown argument: --frobnicate", true},
		{"missing value", nil, []string{"--bin-dir"}, "--bin-dir needs a value", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh, srv := newFakeGitHub(t)
			in := newInstaller(t, srv)
			args := append(slices.Clone(tc.args), "--bin-dir", in.binDir)
			if tc.name == "missing value" {
				args = tc.args
			}
			in.refused(in.run(tc.env, args...), tc.wantMsg)
			if got := gh.paths(); tc.offline && len(got) > 0 {
				t.Errorf("made requests %q before failing", got)
			}
		})
	}
}

func TestInstallHelp(t *testing.T) {
	requireSh(t)
	_, srv := newFakeGitHub(t)
	in := newInstaller(t, srv)
	res := in.run(nil, "--help")
	if res.code != 0 {
		t.Fatalf("--help exited %d: %s", res.code, res.stderr)
	}
	for _, want := range []string{"--version", "--bin-dir", "PIPE_DOWNLOAD_BASE_URL", "GITHUB_TOKEN", "sha256",
		"--require-signature", "--skip-signature", "PIPE_INSTALL_SIGNATURE", "cosign", strings.TrimSuffix(SigningIdentity("v0"), "v0") + "<tag>"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("--help does not mention %s:\n%s", want, res.stdout)
		}
	}
}
