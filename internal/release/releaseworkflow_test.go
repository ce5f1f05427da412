package release

import (
	"context"
	"encoding/base64"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// .github/workflows/release.yml publishes what goreleaser.yaml builds, the
// image, the signatures and the attestations. These tests keep it in step
// with goreleaser.yaml and naming.go, and run its image step's script with
// stand-ins for the Go builder and git.

// tapTokenEnv is the secret that lets goreleaser push the Homebrew cask.
const tapTokenEnv = "HOMEBREW_TAP_GITHUB_TOKEN"

type workflowStep struct {
	Name string            `yaml:"name"`
	ID   string            `yaml:"id"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

type releaseWorkflow struct {
	On struct {
		Push struct {
			Tags []string `yaml:"tags"`
		} `yaml:"push"`
	} `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		Needs       []string          `yaml:"needs"`
		Permissions map[string]string `yaml:"permissions"`
		Env         map[string]string `yaml:"env"`
		Steps       []workflowStep    `yaml:"steps"`
	} `yaml:"jobs"`
}

func readReleaseWorkflow(t *testing.T) (job releaseJob) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var w releaseWorkflow
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("release.yml: %v", err)
	}
	if !slices.Equal(w.On.Push.Tags, []string{"v*"}) {
		t.Errorf("release.yml runs on tags %q, want v* (the signing identity is refs/tags/v...)", w.On.Push.Tags)
	}
	if len(w.Jobs) != 2 {
		t.Fatalf("release.yml: %d jobs, want 2: test, then release (goreleaser's dist/ is used by the image and attestation steps)", len(w.Jobs))
	}
	test, rel := w.Jobs["test"], w.Jobs["release"]
	// The tests run where nothing can sign or publish.
	if !maps.Equal(test.Permissions, map[string]string{"contents": "read"}) || !slices.ContainsFunc(test.Steps, runs(".ci/run")) {
		t.Errorf("job test: permissions %v, want contents: read, and a step running .ci/run", test.Permissions)
	}
	if !slices.Equal(rel.Needs, []string{"test"}) {
		t.Errorf("job release needs %q, want [test]", rel.Needs)
	}
	for _, s := range rel.Steps {
		if runs(".ci/run")(s) || uses("actions/cache")(s) || uses("actions/checkout")(s) && s.With["persist-credentials"] != "false" {
			t.Errorf("job release step %s%s: no tests, no restored cache and no persisted token where the signing identity is", s.Name, s.Uses)
		}
	}
	return releaseJob{t: t, permissions: rel.Permissions, topPermissions: w.Permissions, env: rel.Env, steps: rel.Steps, testSteps: test.Steps}
}

type releaseJob struct {
	t                           *testing.T
	permissions, topPermissions map[string]string
	env                         map[string]string
	steps, testSteps            []workflowStep
}

// step returns the index of the first step for which match holds.
func (j releaseJob) step(what string, match func(workflowStep) bool) int {
	j.t.Helper()
	i := slices.IndexFunc(j.steps, match)
	if i < 0 {
		j.t.Fatalf("release.yml has no step that %s", what)
	}
	return i
}

func uses(action string) func(workflowStep) bool {
	return func(s workflowStep) bool { return strings.HasPrefix(s.Uses, action+"@") }
}

func runs(text string) func(workflowStep) bool {
	return func(s workflowStep) bool { return strings.Contains(s.Run, text) }
}

func TestReleaseWorkflow(t *testing.T) {
	j := readReleaseWorkflow(t)
	want := map[string]string{"contents": "write", "packages": "write", "id-token": "write", "attestations": "write"}
	if !maps.Equal(j.permissions, want) || !maps.Equal(j.topPermissions, map[string]string{"contents": "read"}) {
		t.Errorf("permissions: job %v, workflow %v; want job %v, workflow contents: read", j.permissions, j.topPermissions, want)
	}

	cosign := j.step("installs cosign", uses("sigstore/cosign-installer"))
	syft := j.step("installs syft", uses("anchore/sbom-action/download-syft"))
	gr := j.step("runs goreleaser", uses("goreleaser/goreleaser-action"))
	attestFiles := j.step("attests the release files", func(s workflowStep) bool {
		return uses("actions/attest-build-provenance")(s) && s.With["subject-path"] != ""
	})
	build := j.step("builds the image", runs("go run ./internal/release/image/cmd"))
	sign := j.step("signs the image", runs("cosign sign --yes"))
	attestImage := j.step("attests the image", func(s workflowStep) bool {
		return uses("actions/attest-build-provenance")(s) && s.With["subject-digest"] != ""
	})
	if !(cosign < gr && syft < gr && gr < attestFiles && gr < build && build < sign && build < attestImage) {
		t.Errorf("step order: cosign %d, syft %d, goreleaser %d, attest files %d, image %d, sign %d, attest image %d",
			cosign, syft, gr, attestFiles, build, sign, attestImage)
	}

	if got := j.steps[gr].Env[tapTokenEnv]; got != "${{ secrets."+tapTokenEnv+" }}" {
		t.Errorf("goreleaser step env %s = %q, want the secret (goreleaser.yaml's cask pushes with it)", tapTokenEnv, got)
	}
	if j.steps[gr].With["args"] != "release --clean" {
		t.Errorf("goreleaser args %q, want release --clean", j.steps[gr].With["args"])
	}

	// Every release file but the SBOMs and the signature (which are about
	// other files) has provenance.
	globs := strings.Fields(j.steps[attestFiles].With["subject-path"])
	files := []string{ChecksumsName("v1.2.3")}
	for _, p := range Platforms() {
		files = append(files, ArchiveName("v1.2.3", p.OS, p.Arch))
		if p.OS == "linux" {
			for _, f := range PackageFormats() {
				files = append(files, PackageName("v1.2.3", p.Arch, f))
			}
		}
	}
	for _, f := range files {
		if !slices.ContainsFunc(globs, func(g string) bool { ok, _ := path.Match(g, "dist/"+f); return ok }) {
			t.Errorf("attestation subject-path %q does not cover dist/%s", globs, f)
		}
	}

	if j.env["IMAGE"] != Image {
		t.Errorf("release.yml IMAGE = %q, want %s", j.env["IMAGE"], Image)
	}
	a := j.steps[attestImage].With
	if a["subject-name"] != "${{ env.IMAGE }}" || a["subject-digest"] != "${{ steps."+j.steps[build].ID+".outputs.digest }}" || a["push-to-registry"] != "true" {
		t.Errorf("image attestation with %v: want the pushed digest of %s, pushed to the registry", a, Image)
	}
	if ref := j.steps[sign].Env["REF"]; ref != "${{ steps."+j.steps[build].ID+".outputs.ref }}" {
		t.Errorf("the image signing step signs %q, want the pushed digest", ref)
	}

	// The image's license label says what the packages say.
	cfg := readGoreleaserConfig(t)
	if lic := regexp.MustCompile(`--licenses (\S+)`).FindStringSubmatch(j.steps[build].Run); lic == nil || lic[1] != cfg.Nfpms[0].License {
		t.Errorf("the image step's --licenses %q, goreleaser.yaml's nfpms.license %q", lic, cfg.Nfpms[0].License)
	}
}

// TestReleaseWorkflowImageStep runs the image step's script with bash, a
// dist/ as goreleaser leaves it, and stand-ins for `go` (the image builder,
// printing what it pushed) and `git`.
func TestReleaseWorkflowImageStep(t *testing.T) {
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (the release runner has it)", tool)
		}
	}
	j := readReleaseWorkflow(t)
	step := j.steps[j.step("builds the image", runs("go run ./internal/release/image/cmd"))]
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, tag   string
		pushed      string // the builder's stdout, "" for one line per --push
		wantPushes  []string
		wantFailure string
	}{
		{name: "release", tag: "v1.3.0", wantPushes: []string{Image + ":v1.3.0", Image + ":latest"}},
		{name: "pre-release", tag: "v1.3.0-rc.1", wantPushes: []string{Image + ":v1.3.0-rc.1"}},
		{name: "backport", tag: "v1.2.4", wantPushes: []string{Image + ":v1.2.4"}},
		{name: "two digests", tag: "v1.2.3", pushed: Image + "@" + digest + "\n" + Image + "@sha256:" + strings.Repeat("f", 64) + "\n",
			wantFailure: "want " + Image + "@sha256:<digest> for every tag"},
		{name: "nothing pushed", tag: "v1.2.3", pushed: "\n", wantFailure: "want " + Image + "@sha256:<digest>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			logDir := t.TempDir()
			version := strings.TrimPrefix(tc.tag, "v")
			writeFile(t, filepath.Join(dir, "dist", "metadata.json"), `{"project_name":"pipe","tag":"`+tc.tag+`","version":"`+version+`"}`, 0o644)
			writeFile(t, filepath.Join(dir, "dist", "artifacts.json"), `[
 {"name":"pipe","path":"dist/pipe_linux_amd64_v1/pipe","goos":"linux","goarch":"amd64","type":"Binary"},
 {"name":"pipe","path":"dist/pipe_linux_arm64_v8.0/pipe","goos":"linux","goarch":"arm64","type":"Binary"},
 {"name":"pipe","path":"dist/pipe_darwin_arm64_v8.0/pipe","goos":"darwin","goarch":"arm64","type":"Binary"},
 {"name":"pipe_`+version+`_linux_amd64.tar.gz","path":"dist/pipe_`+version+`_linux_amd64.tar.gz","goos":"linux","goarch":"amd64","type":"Archive"}]`, 0o644)
			fakeGo := "#!/bin/sh\nprintf '%s\\n' \"$@\" >'" + logDir + "/args'\n"
			if tc.pushed == "" {
				fakeGo += "prev=\nfor a in \"$@\"; do [ \"$prev\" = --push ] && echo \"${a%:*}@" + digest + "\"; prev=$a; done\n"
			} else {
				fakeGo += "printf '%s' '" + tc.pushed + "'\n"
			}
			writeFile(t, filepath.Join(bin, "go"), fakeGo, 0o755)
			// git log gives the commit time; git tag the repository's
			// tags, newest version first (v1.2.4 is a backport after v1.3.0).
			writeFile(t, filepath.Join(bin, "git"), "#!/bin/sh\nif [ \"$1\" = tag ]; then printf '%s\\n' v1.3.0-rc.1 v1.3.0 v1.2.4 v1.2.3; exit; fi\necho 2026-01-02T03:04:05+00:00\n", 0o755)
			output := filepath.Join(dir, "github_output")
			writeFile(t, output, "", 0o644)

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-e", "-c", step.Run)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"GITHUB_OUTPUT="+output, "GITHUB_SHA=0123456789abcdef0123456789abcdef01234567", "IMAGE="+j.env["IMAGE"])
			for k, v := range step.Env {
				if v != "${{ github.ref_name }}" {
					t.Fatalf("image step env %s = %q: not simulated by this test", k, v)
				}
				cmd.Env = append(cmd.Env, k+"="+tc.tag)
			}
			out, err := cmd.CombinedOutput()
			if tc.wantFailure != "" {
				if err == nil || !strings.Contains(string(out), tc.wantFailure) {
					t.Fatalf("step error %v, output %q; want a failure saying %q", err, out, tc.wantFailure)
				}
				return
			}
			if err != nil {
				t.Fatalf("image step: %v\n%s", err, out)
			}
			args, _ := os.ReadFile(filepath.Join(logDir, "args"))
			want := []string{"run", "./internal/release/image/cmd",
				"--binary", "linux/amd64=dist/pipe_linux_amd64_v1/pipe", "--binary", "linux/arm64=dist/pipe_linux_arm64_v8.0/pipe",
				"--version", version, "--revision", "0123456789abcdef0123456789abcdef01234567",
				"--created", "2026-01-02T03:04:05+00:00", "--licenses", "Apache-2.0"}
			for _, p := range tc.wantPushes {
				want = append(want, "--push", p)
			}
			if got := strings.Split(strings.TrimSuffix(string(args), "\n"), "\n"); !slices.Equal(got, want) {
				t.Errorf("go %q\nwant %q", got, want)
			}
			gotOut, _ := os.ReadFile(output)
			if wantOut := "ref=" + Image + "@" + digest + "\ndigest=" + digest + "\n"; string(gotOut) != wantOut {
				t.Errorf("step outputs %q, want %q", gotOut, wantOut)
			}
		})
	}
}

func writeFile(t *testing.T, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// TestReleaseWorkflowFloatingTags runs the step that moves v1 and v1.2 (what
// `uses: gitops-pipe/pipe@v1` resolves) with a stand-in git.
func TestReleaseWorkflowFloatingTags(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	j := readReleaseWorkflow(t)
	step := j.steps[j.step("moves the floating tags", runs("git tag -f"))]
	tags := "v1.3.0-rc.1\nv1.3.0\nv1.2.4\nv1.2.3\nv0.9.0\n"
	for _, tc := range []struct {
		tag, wantMoves, wantPush string
	}{
		{tag: "v1.3.0", wantMoves: "v1 v1.3", wantPush: "+refs/tags/v1:refs/tags/v1 +refs/tags/v1.3:refs/tags/v1.3"},
		{tag: "v1.2.4", wantMoves: "v1.2", wantPush: "+refs/tags/v1.2:refs/tags/v1.2"}, // a backport: v1 stays at v1.3.0
		{tag: "v1.3.0-rc.1"},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			dir, bin, logDir := t.TempDir(), t.TempDir(), t.TempDir()
			// git tag --list PATTERN prints the matching tags; tag -f and push are logged.
			fakeGit := "#!/bin/bash\nlog='" + logDir + "'\n" +
				"if [ \"$1\" = tag ] && [ \"$2\" = --list ]; then printf '" + tags + "' | grep -F \"${3%\\*}\" || true; exit; fi\n" +
				"if [ \"$1\" = tag ] && [ \"$2\" = -f ]; then echo \"$3\" >>\"$log/moves\"; exit; fi\n" +
				"for a in \"$@\"; do case $a in push) p=1 ;; *) [ -n \"$p\" ] && [[ $a == +* ]] && echo \"$a\" >>\"$log/push\" ;; esac; done\n" +
				"for a in \"$@\"; do case $a in *extraheader*) echo \"$a\" >>\"$log/auth\" ;; esac; done\n"
			writeFile(t, filepath.Join(bin, "git"), fakeGit, 0o755)
			cmd := exec.Command("bash", "-e", "-c", step.Run)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"TAG="+tc.tag, "GITHUB_TOKEN=ghs_releaseToken", "GITHUB_REPOSITORY=gitops-pipe/pipe")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("step: %v\n%s", err, out)
			} else if strings.Contains(string(out), "ghs_releaseToken") {
				t.Errorf("the token was printed:\n%s", out)
			}
			read := func(name string) string {
				b, _ := os.ReadFile(filepath.Join(logDir, name))
				return strings.Join(strings.Fields(string(b)), " ")
			}
			if got := read("moves"); got != tc.wantMoves {
				t.Errorf("moved %q, want %q", got, tc.wantMoves)
			}
			if got := read("push"); got != tc.wantPush {
				t.Errorf("pushed %q, want %q", got, tc.wantPush)
			}
			// The push authenticates with the job's token as an HTTP header
			// given on the command line (nothing is written to .git/config).
			wantAuth := ""
			if tc.wantPush != "" {
				wantAuth = "http.extraheader=AUTHORIZATION: basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:ghs_releaseToken"))
			}
			if got := read("auth"); got != wantAuth {
				t.Errorf("git was given the header %q, want %q", got, wantAuth)
			}
		})
	}
}
