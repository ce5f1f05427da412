package release

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Tests of setup/action.yml (gitops-pipe/pipe/setup) and its script,
// setup/install-cached.sh, through the harness of actionrun_test.go.

const setupAction = "setup/action.yml"

func TestSetupInstallsThenHitsTheToolCache(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	cache := t.TempDir()

	r := newActionRun(t, setupAction, srv.URL, cache, map[string]string{"version": testTag})
	code, out := r.run()
	if code != 0 || !strings.Contains(out, "verified sha256 of "+ArchiveName(testTag, "linux", "amd64")) {
		t.Fatalf("setup exited %d:\n%s", code, out)
	}
	dir := filepath.Join(cache, "pipe", "1.2.3", "x64")
	want := map[string]string{"version": testTag, "path": filepath.Join(dir, "pipe"), "cache-hit": "false"}
	if got := r.outputs(); !sameOutputs(got, want) {
		t.Errorf("outputs = %v, want %v", got, want)
	}
	if got := r.pathEntries(); !slices.Equal(got, []string{dir}) {
		t.Errorf("GITHUB_PATH = %q, want %q", got, dir)
	}
	if _, err := os.Stat(dir + ".complete"); err != nil {
		t.Errorf("no completion marker: %v", err)
	}
	if bin, err := exec.Command(filepath.Join(dir, "pipe")).CombinedOutput(); err != nil || !strings.Contains(string(bin), "fake pipe "+testTag) {
		t.Errorf("installed pipe: %v: %s", err, bin)
	}
	if got := srv.downloads(); len(got) != 2 || len(srv.apiRequests()) != 0 {
		t.Errorf("downloads %q, API requests %d (want the archive and checksums, no API request)", got, len(srv.apiRequests()))
	}

	// A second job on this runner, @v1.2.3 with no version: nothing downloaded.
	r2 := newActionRun(t, setupAction, srv.URL, cache, nil)
	r2.ctx["github.action_ref"] = testTag
	code, out = r2.run()
	want["cache-hit"] = "true"
	if got := r2.outputs(); code != 0 || !sameOutputs(got, want) {
		t.Fatalf("second run exited %d, outputs %v, want %v:\n%s", code, got, want, out)
	}
	if got := srv.downloads(); len(got) != 2 || !strings.Contains(out, "found in the tool cache") {
		t.Errorf("second run downloaded %q:\n%s", got, out)
	}

	// A job killed before the marker was written: installed again.
	if err := os.Remove(dir + ".complete"); err != nil {
		t.Fatal(err)
	}
	r3 := newActionRun(t, setupAction, srv.URL, cache, map[string]string{"version": "1.2.3"})
	want["cache-hit"] = "false"
	if code, out := r3.run(); code != 0 || !sameOutputs(r3.outputs(), want) || len(srv.downloads()) != 4 {
		t.Errorf("run without marker exited %d, outputs %v, downloads %q:\n%s", code, r3.outputs(), srv.downloads(), out)
	}
}

func sameOutputs(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return len(got) == len(want)
}

// TestSetupVersion covers where the version comes from: the action's ref
// unless the version input is set; API requests carry the token.
func TestSetupVersion(t *testing.T) {
	requireBash(t)
	for _, tc := range []struct {
		name, ref, version string
		want               string
		api                []string // API paths requested
		log                string
	}{
		{name: "release tag", ref: testTag, want: testTag},
		{name: "major tag: newest v1 on page 2", ref: "v1", want: newerTag, api: []string{releasesPath, releasesPath}},
		{name: "minor tag skips prereleases", ref: "v1.2", want: testTag, api: []string{releasesPath, releasesPath}},
		{name: "commit pinned", ref: testTagSHA, want: testTag, api: []string{tagsPath}},
		{name: "untagged commit", ref: untaggedSHA, want: testTag, api: []string{tagsPath, latestPath}, log: "::warning title=pipe setup::the action's commit " + untaggedSHA + " is not a release's commit"},
		{name: "branch", ref: "main", want: testTag, api: []string{latestPath}, log: "::notice title=pipe setup::the action's ref main is not a release tag"},
		{name: "local action", ref: "", want: testTag, api: []string{latestPath}, log: "the action's ref is unknown"},
		{name: "explicit version wins", ref: "v1", version: " v1.2.3 ", want: testTag},
		{name: "explicit line", ref: testTag, version: "1", want: newerTag, api: []string{releasesPath, releasesPath}},
		{name: "explicit latest", ref: "v1", version: "latest", want: testTag, api: []string{latestPath}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newReleaseServer(t)
			inputs := map[string]string{"token": "ghp_explicitToken456"}
			if tc.version != "" {
				inputs["version"] = tc.version
			}
			r := newActionRun(t, setupAction, srv.URL, t.TempDir(), inputs)
			r.ctx["github.action_ref"] = tc.ref
			code, out := r.run()
			if code != 0 || r.outputs()["version"] != tc.want || !strings.Contains(out, tc.log) {
				t.Fatalf("exited %d, version %q (want %q):\n%s", code, r.outputs()["version"], tc.want, out)
			}
			var paths []string
			for _, req := range srv.apiRequests() {
				paths = append(paths, req.URL.Path)
				if got := req.Header.Get("Authorization"); got != "Bearer ghp_explicitToken456" {
					t.Errorf("%s: Authorization %q, want the token input", req.URL, got)
				}
			}
			if !slices.Equal(paths, tc.api) {
				t.Errorf("API requests %q, want %q", paths, tc.api)
			}
			for _, req := range srv.gh.received() {
				if strings.HasPrefix(req.URL.Path, "/download/") && req.Header.Get("Authorization") != "" {
					t.Errorf("the token was sent to the download host (%s)", req.URL)
				}
			}
			if strings.Contains(out, "ghp_explicitToken456") {
				t.Errorf("the token is in the output:\n%s", out)
			}
		})
	}
}

// With either downloader: latest is asked with the workflow token (by
// default), v1 reads the releases list page by page.
func TestSetupDownloaders(t *testing.T) {
	requireBash(t)
	for _, dl := range []string{"curl", "wget"} {
		t.Run(dl, func(t *testing.T) {
			if _, err := exec.LookPath(dl); err != nil {
				t.Skipf("%s is not installed", dl)
			}
			srv := newReleaseServer(t)
			r := newActionRun(t, setupAction, srv.URL, t.TempDir(), map[string]string{"version": "latest"})
			r.env = append(r.env, "PIPE_INSTALL_DOWNLOADER="+dl)
			if code, out := r.run(); code != 0 || r.outputs()["version"] != testTag {
				t.Fatalf("exited %d, outputs %v:\n%s", code, r.outputs(), out)
			}
			reqs := srv.apiRequests()
			if len(reqs) != 1 || reqs[0].URL.Path != latestPath || reqs[0].Header.Get("Authorization") != "Bearer ghs_workflowToken123" {
				t.Fatalf("API requests %v: want one to %s with the workflow token", reqs, latestPath)
			}
			if got := reqs[0].Header.Get("Accept"); got != "application/vnd.github+json" {
				t.Errorf("Accept %q", got)
			}

			srv.status = http.StatusForbidden
			r = newActionRun(t, setupAction, srv.URL, t.TempDir(), map[string]string{"version": "v1"})
			r.env = append(r.env, "PIPE_INSTALL_DOWNLOADER="+dl)
			if code, out := r.run(); code == 0 || !strings.Contains(out, "answered HTTP 403 (rate limited?)") {
				t.Fatalf("rate limited: exited %d:\n%s", code, out)
			}
			srv.status = 0
			r = newActionRun(t, setupAction, srv.URL, t.TempDir(), map[string]string{"version": "v1"})
			r.env = append(r.env, "PIPE_INSTALL_DOWNLOADER="+dl)
			if code, out := r.run(); code != 0 || r.outputs()["version"] != newerTag {
				t.Fatalf("v1: exited %d, outputs %v:\n%s", code, r.outputs(), out)
			}
		})
	}
}

func TestSetupRefusedTokenRetriesWithout(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	srv.refuseTokens = true // a GitHub Enterprise Server token on github.com
	r := newActionRun(t, setupAction, srv.URL, t.TempDir(), map[string]string{"version": "latest"})
	code, out := r.run()
	if code != 0 || r.outputs()["version"] != testTag || !strings.Contains(out, "refused the token (HTTP 401); retrying without it") {
		t.Fatalf("exited %d, outputs %v:\n%s", code, r.outputs(), out)
	}
	if reqs := srv.apiRequests(); len(reqs) != 2 || reqs[1].Header.Get("Authorization") != "" {
		t.Errorf("want a request with the token, then one without: %v", reqs)
	}
}

// On GitHub Enterprise Server, the workflow's token is not sent to another
// GitHub's API.
func TestSetupKeepsTheTokenToItsGitHub(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	r := newActionRun(t, setupAction, srv.URL, t.TempDir(), map[string]string{"version": "latest"})
	r.ctx["github.api_url"] = "https://ghes.example.com/api/v3"
	code, out := r.run()
	if code != 0 || !strings.Contains(out, "the token is for https://ghes.example.com/api/v3: calling "+srv.URL+"/api without it") {
		t.Fatalf("exited %d:\n%s", code, out)
	}
	if reqs := srv.apiRequests(); len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "" {
		t.Errorf("want one request without the token: %v", reqs)
	}
}

func TestSetupFailures(t *testing.T) {
	requireBash(t)
	for _, tc := range []struct {
		name, version string
		status        int
		want          string
	}{
		{name: "invalid version", version: "1.x", want: "::error title=pipe setup::invalid version from the version input: '1.x'"},
		{name: "invalid tag", version: "v1.2.3;id", want: "invalid version from the version input"},
		{name: "no such line", version: "v7", want: "no pipe release matches v7"},
		{name: "rate limited", version: "latest", status: http.StatusForbidden, want: "answered HTTP 403 (rate limited?): pass a token input"},
		{name: "API error", version: "v1", status: http.StatusNotFound, want: "answered HTTP 404"},
		{name: "missing release", version: "v1.2.4", want: "could not install pipe v1.2.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newReleaseServer(t)
			srv.status = tc.status
			cache := t.TempDir()
			r := newActionRun(t, setupAction, srv.URL, cache, map[string]string{"version": tc.version})
			code, out := r.run()
			if code == 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("exited %d, want a failure with %q:\n%s", code, tc.want, out)
			}
			if strings.Contains(out, "ghs_workflowToken123") {
				t.Errorf("the token is in the output:\n%s", out)
			}
			if entries, _ := filepath.Glob(filepath.Join(cache, "pipe", "*", "*.complete")); len(entries) > 0 || len(r.pathEntries()) > 0 {
				t.Errorf("a failed setup left %v in the cache, %v on the PATH", entries, r.pathEntries())
			}
		})
	}
}

func TestSetupRefusesTamperedRelease(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	p := Platform{"linux", "amd64"}
	srv.gh.set("/download/"+testTag+"/"+ArchiveName(testTag, p.OS, p.Arch), archive(t, p, []byte("#!/bin/sh\necho pwned\n")))
	cache := t.TempDir()
	r := newActionRun(t, setupAction, srv.URL, cache, map[string]string{"version": testTag})
	code, out := r.run()
	if code == 0 || !strings.Contains(out, "checksum mismatch") {
		t.Fatalf("exited %d:\n%s", code, out)
	}
	dir := filepath.Join(cache, "pipe", "1.2.3", "x64")
	if _, err := os.Stat(filepath.Join(dir, "pipe")); err == nil {
		t.Error("a tampered pipe was installed")
	}
	if _, err := os.Stat(dir + ".complete"); err == nil {
		t.Error("a failed install is marked complete")
	}
}

func TestSetupInstallDir(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	cache := t.TempDir()
	r := newActionRun(t, setupAction, srv.URL, cache, map[string]string{"version": testTag, "install-dir": "tools/bin"})
	if code, out := r.run(); code != 0 {
		t.Fatalf("exited %d:\n%s", code, out)
	}
	dir := filepath.Join(r.work, "tools", "bin")
	if got := r.outputs()["path"]; got != filepath.Join(dir, "pipe") {
		t.Errorf("path = %q", got)
	}
	if got := r.pathEntries(); !slices.Equal(got, []string{dir}) {
		t.Errorf("GITHUB_PATH = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, "pipe")); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("pipe not in the install-dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, "pipe", "1.2.3", "x64.complete")); err != nil {
		t.Errorf("not cached: %v", err)
	}
}

// Without a writable tool cache, pipe goes to RUNNER_TEMP for the job.
func TestSetupWithoutToolCache(t *testing.T) {
	requireBash(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, cache := range map[string]string{"unset": "", "not a directory": file} {
		t.Run(name, func(t *testing.T) {
			srv := newReleaseServer(t)
			r := newActionRun(t, setupAction, srv.URL, cache, map[string]string{"version": testTag})
			code, out := r.run()
			want := filepath.Join(r.runnerTemp, "pipe-tool-cache", "pipe", "1.2.3", "x64", "pipe")
			if code != 0 || r.outputs()["path"] != want || !strings.Contains(out, "::notice title=pipe setup::the runner's tool cache") {
				t.Fatalf("exited %d, outputs %v (want path %s):\n%s", code, r.outputs(), want, out)
			}
			// The same job sets pipe up again: found where it was put.
			code, out = r.run()
			if code != 0 || r.outputs()["cache-hit"] != "true" {
				t.Errorf("second run exited %d, outputs %v:\n%s", code, r.outputs(), out)
			}
		})
	}
}

func TestSetupSignature(t *testing.T) {
	requireBash(t)
	srv := newReleaseServer(t)
	srv.gh.set("/download/"+testTag+"/"+ChecksumsName(testTag)+".sigstore.json", []byte(`{"fake":"bundle"}`))
	// A cosign that accepts every signature and records its calls.
	cosign, calls := filepath.Join(t.TempDir(), "cosign"), filepath.Join(t.TempDir(), "calls")
	if err := os.WriteFile(cosign, []byte("#!/bin/sh\necho \"$1\" >>'"+calls+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	verified := func() int {
		data, _ := os.ReadFile(calls)
		return strings.Count(string(data), "verify-blob\n")
	}
	cache := t.TempDir()
	marker := filepath.Join(cache, "pipe", "1.2.3", "x64.complete")
	setup := func(signature string, withCosign bool) (int, string, *actionRun) {
		t.Helper()
		r := newActionRun(t, setupAction, srv.URL, cache, map[string]string{"version": testTag, "signature": signature})
		if withCosign {
			r.env = append(r.env, "PIPE_INSTALL_COSIGN="+cosign)
		}
		code, out := r.run()
		return code, out, r
	}

	// require without cosign: refused, nothing cached.
	if code, out, _ := setup("require", false); code == 0 || !strings.Contains(out, "cosign is not installed") {
		t.Fatalf("require without cosign exited %d:\n%s", code, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a refused install is marked complete")
	}
	if code, out, _ := setup("bogus", false); code == 0 || !strings.Contains(out, "invalid signature input 'bogus'") {
		t.Fatalf("signature bogus exited %d:\n%s", code, out)
	}
	// skip: the checksum only.
	if code, out, _ := setup("skip", true); code != 0 || !strings.Contains(out, "not verifying the signature") || verified() != 0 {
		t.Fatalf("skip exited %d:\n%s", code, out)
	}
	// require after an install that did not require it: installed again, verified.
	code, out, r := setup("require", true)
	if code != 0 || r.outputs()["cache-hit"] != "false" || !strings.Contains(out, "installed without requiring its signature") || verified() != 1 {
		t.Fatalf("require after skip exited %d, outputs %v:\n%s", code, r.outputs(), out)
	}
	if data, _ := os.ReadFile(marker); string(data) != "signature=verified\n" {
		t.Errorf("marker %q", data)
	}
	// A verified install satisfies require and auto.
	for _, sig := range []string{"require", "auto"} {
		if code, out, r := setup(sig, false); code != 0 || r.outputs()["cache-hit"] != "true" {
			t.Errorf("%s after a verified install exited %d, outputs %v:\n%s", sig, code, r.outputs(), out)
		}
	}
}

// Every input and output of both actions is described in action.yml and
// documented in docs/ci.md.
func TestActionInputsAndOutputsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"action.yml", setupAction} {
		a := readAction(t, rel)
		var names []string
		for name, in := range a.Inputs {
			if strings.TrimSpace(in.Description) == "" {
				t.Errorf("%s: input %s has no description", rel, name)
			}
			names = append(names, name)
		}
		for name, o := range a.Outputs {
			if strings.TrimSpace(o.Description) == "" {
				t.Errorf("%s: output %s has no description", rel, name)
			}
			names = append(names, name)
		}
		for _, name := range names {
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("docs/ci.md does not document %s's `%s`", rel, name)
			}
		}
	}
}
