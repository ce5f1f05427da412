package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The signature check of install.sh: with cosign on PATH (a stand-in,
// fakeCosign, that checks the exact arguments and that the bundle covers the
// checksums file it is given), without it, and its modes. Fixtures are in
// fakerelease_test.go.

// linuxAMD64 makes install.sh take the linux/amd64 build, whatever the host.
var linuxAMD64 = map[string]string{"PIPE_INSTALL_UNAME_S": "Linux", "PIPE_INSTALL_UNAME_M": "x86_64"}

// with returns env plus more, overriding.
func with(env map[string]string, more ...map[string]string) map[string]string {
	out := maps.Clone(env)
	for _, m := range more {
		maps.Copy(out, m)
	}
	return out
}

func TestInstallVerifiesSignature(t *testing.T) {
	requireSh(t)
	gh, srv := newFakeGitHub(t)
	cosign := newFakeCosign(t, false)
	in := newInstaller(t, srv)
	res := in.run(with(linuxAMD64, cosign.env()), "--version", testTag, "--bin-dir", in.binDir)
	in.installed(res, Platform{"linux", "amd64"})

	dl := "/download/" + testTag + "/"
	if got, want := gh.paths(), []string{dl + ArchiveName(testTag, "linux", "amd64"), dl + ChecksumsName(testTag), dl + SignatureName(testTag)}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
	args, bundle, blob, called := cosign.called(t)
	if !called {
		t.Fatalf("cosign was not run\nstderr:\n%s", res.stderr)
	}
	// The exact verification: the bundle, then the one identity that may have
	// signed this tag, then the file.
	want := []string{
		"verify-blob",
		"--new-bundle-format",
		"--bundle", SignatureName(testTag),
		"--certificate-identity", SigningIdentity(testTag),
		"--certificate-oidc-issuer", SigningIssuer,
		ChecksumsName(testTag),
	}
	if len(args) != len(want) {
		t.Fatalf("cosign args %q, want %q", args, want)
	}
	for i, a := range args {
		if i == 3 || i == len(args)-1 { // files: install.sh's temp dir, then the name
			if !strings.HasPrefix(a, in.tmpDir+string(filepath.Separator)) || filepath.Base(a) != want[i] {
				t.Errorf("cosign arg %d = %q, want %s in install.sh's temp dir", i, a, want[i])
			}
		} else if a != want[i] {
			t.Errorf("cosign arg %d = %q, want %q", i, a, want[i])
		}
	}
	if !bytes.Equal(bundle, gh.files[dl+SignatureName(testTag)]) || !bytes.Equal(blob, gh.files[dl+ChecksumsName(testTag)]) {
		t.Errorf("cosign verified other files than the release's bundle and checksums:\nbundle %q\nblob %q", bundle, blob)
	}
	if !strings.Contains(res.stderr, "verified the signature of "+ChecksumsName(testTag)+": signed by "+SigningIdentity(testTag)) {
		t.Errorf("stderr does not report the verified signature:\n%s", res.stderr)
	}
}

func TestInstallRefusesBadSignature(t *testing.T) {
	requireSh(t)
	_, srv := newFakeGitHub(t)
	cosign := newFakeCosign(t, true)
	in := newInstaller(t, srv)
	res := in.run(with(linuxAMD64, cosign.env()), "--version", testTag, "--bin-dir", in.binDir)
	in.refused(res, "the signature of "+ChecksumsName(testTag)+" does not verify")
	in.refused(res, "refusing to install")
	// cosign's own words are passed on.
	in.refused(res, "cosign: Error: none of the expected identities matched")
}

// A tampered checksum fails: alone, by the sha256 check; with the archive
// replaced to match it, by the signature, which covers the checksums file.
func TestInstallRefusesTamperedChecksums(t *testing.T) {
	requireSh(t)
	p := Platform{"linux", "amd64"}
	name := ArchiveName(testTag, p.OS, p.Arch)
	sumsPath := "/download/" + testTag + "/" + ChecksumsName(testTag)
	// tamper replaces the checksum of name in the checksums file with sum.
	tamper := func(gh *fakeGitHub, sum [32]byte) {
		var out strings.Builder
		for line := range strings.Lines(string(gh.files[sumsPath])) {
			if strings.HasSuffix(strings.TrimSpace(line), "  "+name) {
				line = hex.EncodeToString(sum[:]) + "  " + name + "\n"
			}
			out.WriteString(line)
		}
		gh.set(sumsPath, []byte(out.String()))
	}

	t.Run("checksum only", func(t *testing.T) {
		gh, srv := newFakeGitHub(t)
		tamper(gh, sha256.Sum256([]byte("something else")))
		in := newInstaller(t, srv)
		res := in.run(linuxAMD64, "--version", testTag, "--bin-dir", in.binDir)
		in.refused(res, "checksum mismatch for "+name)
	})
	t.Run("archive and checksum", func(t *testing.T) {
		gh, srv := newFakeGitHub(t)
		evil := archive(t, p, []byte("#!/bin/sh\necho pwned\n"))
		gh.set("/download/"+testTag+"/"+name, evil)
		tamper(gh, sha256.Sum256(evil))
		cosign := newFakeCosign(t, false)
		in := newInstaller(t, srv)
		res := in.run(with(linuxAMD64, cosign.env()), "--version", testTag, "--bin-dir", in.binDir)
		in.refused(res, "the signature of "+ChecksumsName(testTag)+" does not verify")
		if strings.Contains(res.stderr, "verified sha256") {
			t.Errorf("the sha256 was checked against an unverified checksums file:\n%s", res.stderr)
		}
	})
}

func TestInstallSignatureModes(t *testing.T) {
	requireSh(t)
	dl := "/download/" + testTag + "/"
	for _, tc := range []struct {
		name     string
		cosign   bool // a cosign on PATH
		unsigned bool // the release has no signature file
		env      map[string]string
		args     []string
		wantMsg  string // on stderr
		wantErr  bool
		verified bool // cosign ran
	}{
		{name: "no cosign", wantMsg: "cosign is not installed: verifying the sha256 checksum only"},
		{name: "skip flag", cosign: true, args: []string{"--skip-signature"},
			wantMsg: "not verifying the signature (--skip-signature)"},
		{name: "skip env", cosign: true, env: map[string]string{"PIPE_INSTALL_SIGNATURE": "skip"},
			wantMsg: "not verifying the signature (PIPE_INSTALL_SIGNATURE=skip)"},
		{name: "require flag", cosign: true, args: []string{"--require-signature"},
			wantMsg: "verified the signature of " + ChecksumsName(testTag), verified: true},
		{name: "require flag without cosign", args: []string{"--require-signature"}, wantErr: true,
			wantMsg: "a verified signature is required (--require-signature), but cosign is not installed"},
		{name: "require env without cosign", env: map[string]string{"PIPE_INSTALL_SIGNATURE": "require"}, wantErr: true,
			wantMsg: "a verified signature is required (PIPE_INSTALL_SIGNATURE=require), but cosign is not installed"},
		{name: "flag overrides env", env: map[string]string{"PIPE_INSTALL_SIGNATURE": "require"}, args: []string{"--skip-signature"},
			wantMsg: "not verifying the signature (--skip-signature)"},
		{name: "unsigned release with cosign", cosign: true, unsigned: true, wantErr: true,
			wantMsg: "could not download the signature " + "http"},
		{name: "unsigned release skipped", cosign: true, unsigned: true, args: []string{"--skip-signature"},
			wantMsg: "not verifying the signature (--skip-signature)"},
		{name: "contradicting flags", args: []string{"--require-signature", "--skip-signature"}, wantErr: true,
			wantMsg: "--require-signature and --skip-signature contradict each other"},
		{name: "invalid env", env: map[string]string{"PIPE_INSTALL_SIGNATURE": "maybe"}, wantErr: true,
			wantMsg: "invalid PIPE_INSTALL_SIGNATURE: maybe (use auto, require or skip)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh, srv := newFakeGitHub(t)
			if tc.unsigned {
				gh.remove(dl + SignatureName(testTag))
			}
			cosign := newFakeCosign(t, false)
			env := with(linuxAMD64, tc.env)
			if tc.cosign {
				env = with(env, cosign.env())
			}
			in := newInstaller(t, srv)
			res := in.run(env, append(slices.Clone(tc.args), "--version", testTag, "--bin-dir", in.binDir)...)
			if tc.wantErr {
				in.refused(res, tc.wantMsg)
			} else {
				in.installed(res, Platform{"linux", "amd64"})
				if !strings.Contains(res.stderr, tc.wantMsg) {
					t.Errorf("stderr lacks %q:\n%s", tc.wantMsg, res.stderr)
				}
			}
			if _, _, _, called := cosign.called(t); called != tc.verified {
				t.Errorf("cosign ran: %v, want %v\nstderr:\n%s", called, tc.verified, res.stderr)
			}
			if tc.wantErr && !tc.unsigned && len(gh.paths()) > 0 {
				t.Errorf("made requests %q before failing on its arguments", gh.paths())
			}
			if !tc.verified && !tc.unsigned && slices.Contains(gh.paths(), dl+SignatureName(testTag)) {
				t.Errorf("downloaded the signature without verifying it: %q", gh.paths())
			}
		})
	}
}
