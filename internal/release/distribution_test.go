package release

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The distribution sections of goreleaser.yaml: SBOMs, the signature, Linux
// packages and the Homebrew cask. Their outputs are named by naming.go, and
// install.sh and docs/install.md rely on those names. syft and cosign do not
// run here (they run in the release workflow), so these tests check the
// configuration that drives them.

func TestGoreleaserSBOMs(t *testing.T) {
	cfg := readGoreleaserConfig(t)
	if len(cfg.Sboms) != 1 {
		t.Fatalf("sboms: got %d, want exactly 1 (one SPDX document per archive)", len(cfg.Sboms))
	}
	s := cfg.Sboms[0]
	if s.Artifacts != "archive" {
		t.Errorf("sboms.artifacts = %q, want archive (one SBOM per archive)", s.Artifacts)
	}
	if s.Cmd != "" && s.Cmd != "syft" {
		t.Errorf("sboms.cmd = %q, want syft (the release workflow installs syft)", s.Cmd)
	}
	if len(s.Documents) != 1 {
		t.Fatalf("sboms.documents = %q, want one document per archive", s.Documents)
	}
	for _, p := range Platforms() {
		archive := ArchiveName("v1.2.3", p.OS, p.Arch)
		got := render(t, "sboms.documents", s.Documents[0], templateData{ProjectName: BinaryName, Version: "1.2.3", Os: p.OS, Arch: p.Arch, ArtifactName: archive})
		if want := SBOMName("v1.2.3", p.OS, p.Arch); got != want {
			t.Errorf("%s/%s: SBOM %q, SBOMName %q", p.OS, p.Arch, got, want)
		}
	}
	// The document is SPDX JSON, as its ".spdx.json" name says.
	if !slices.Contains(s.Args, "spdx-json=$document") || !slices.Contains(s.Args, "$artifact") {
		t.Errorf("sboms.args = %q, want syft to catalog $artifact into spdx-json=$document", s.Args)
	}
}

func TestGoreleaserSignsChecksumsKeyless(t *testing.T) {
	cfg := readGoreleaserConfig(t)
	if len(cfg.Signs) != 1 {
		t.Fatalf("signs: got %d, want exactly 1 (the checksums file)", len(cfg.Signs))
	}
	s := cfg.Signs[0]
	if s.Cmd != "cosign" || s.Artifacts != "checksum" {
		t.Errorf("signs: cmd %q artifacts %q, want cosign signing the checksum file", s.Cmd, s.Artifacts)
	}
	if s.Certificate != "" {
		t.Errorf("signs.certificate = %q: the Sigstore bundle holds the certificate; install.sh verifies the bundle", s.Certificate)
	}
	// goreleaser expands ${artifact} and ${signature} like a shell.
	vars := map[string]string{"artifact": ChecksumsName("v1.2.3")}
	vars["signature"] = os.Expand(s.Signature, func(k string) string { return vars[k] })
	if vars["signature"] != SignatureName("v1.2.3") {
		t.Errorf("signs.signature makes %q, SignatureName %q", vars["signature"], SignatureName("v1.2.3"))
	}
	var args []string
	for _, a := range s.Args {
		args = append(args, os.Expand(a, func(k string) string { return vars[k] }))
	}
	// Keyless: no --key; --yes, or cosign asks for consent on the terminal.
	want := []string{"sign-blob", "--bundle=" + SignatureName("v1.2.3"), ChecksumsName("v1.2.3"), "--yes"}
	if !slices.Equal(args, want) {
		t.Errorf("signs.args expand to %q, want %q", args, want)
	}
}

func TestGoreleaserLinuxPackages(t *testing.T) {
	cfg := readGoreleaserConfig(t)
	if len(cfg.Nfpms) != 1 {
		t.Fatalf("nfpms: got %d, want exactly 1", len(cfg.Nfpms))
	}
	n := cfg.Nfpms[0]
	if !sameSet(n.Formats, PackageFormats()) {
		t.Errorf("nfpms.formats = %q, want %q", n.Formats, PackageFormats())
	}
	if n.PackageName != BinaryName || n.Bindir != "/usr/bin" {
		t.Errorf("nfpms: package %q bindir %q, want %q in /usr/bin", n.PackageName, n.Bindir, BinaryName)
	}
	for field, v := range map[string]string{"homepage": n.Homepage, "maintainer": n.Maintainer, "description": n.Description, "license": n.License} {
		if strings.TrimSpace(v) == "" {
			t.Errorf("nfpms.%s is empty: deb and rpm metadata need it", field)
		}
	}
	if !strings.Contains(n.Maintainer, "<") || !strings.HasSuffix(n.Maintainer, ">") {
		t.Errorf("nfpms.maintainer = %q, want \"Name <email>\" (the deb Maintainer field)", n.Maintainer)
	}
	if !slices.Contains(n.Recommends, "git") || slices.Contains(n.Dependencies, "git") {
		t.Errorf("nfpms: recommends %q dependencies %q: git is recommended, not required", n.Recommends, n.Dependencies)
	}
	for _, p := range Platforms() {
		if p.OS != "linux" {
			continue
		}
		for _, format := range PackageFormats() {
			got := render(t, "nfpms.file_name_template", n.FileNameTemplate, templateData{ProjectName: BinaryName, Version: "1.2.3", Os: p.OS, Arch: p.Arch}) + "." + format
			if want := PackageName("v1.2.3", p.Arch, format); got != want {
				t.Errorf("%s/%s %s: package %q, PackageName %q", p.OS, p.Arch, format, got, want)
			}
		}
	}
}

func TestGoreleaserHomebrewCask(t *testing.T) {
	cfg := readGoreleaserConfig(t)
	if len(cfg.HomebrewCasks) != 1 {
		t.Fatalf("homebrew_casks: got %d, want exactly 1", len(cfg.HomebrewCasks))
	}
	c := cfg.HomebrewCasks[0]
	if c.Name != BinaryName || !slices.Equal(c.Binaries, []string{BinaryName}) {
		t.Errorf("homebrew_casks: name %q binaries %q, want %q", c.Name, c.Binaries, BinaryName)
	}
	if c.Repository.Owner != "gitops-pipe" || c.Repository.Name != "homebrew-tap" {
		t.Errorf("homebrew_casks.repository = %s/%s, want gitops-pipe/homebrew-tap (brew install --cask gitops-pipe/tap/pipe)", c.Repository.Owner, c.Repository.Name)
	}
	// The workflow's GITHUB_TOKEN cannot push to another repository.
	if !strings.Contains(c.Repository.Token, ".Env."+tapTokenEnv) {
		t.Errorf("homebrew_casks.repository.token = %q, want it from $%s", c.Repository.Token, tapTokenEnv)
	}
	if c.Description == "" || c.Homepage == "" {
		t.Errorf("homebrew_casks: description %q homepage %q, want both", c.Description, c.Homepage)
	}
	// A cask has no `test do`: the post-install hook runs `pipe version`, so
	// that a binary that cannot start fails the install.
	if !strings.Contains(c.Hooks.Post.Install, `"#{staged_path}/pipe", args: ["version"]`) {
		t.Errorf("homebrew_casks.hooks.post.install does not run `pipe version`:\n%s", c.Hooks.Post.Install)
	}
}

// TestGoreleaserNoDeprecatedOrImageKeys fails on configuration that
// `goreleaser check` (CI's goreleaser-check job) rejects as deprecated, and on
// goreleaser image pipelines: the image is built by the release workflow from
// goreleaser's binaries (internal/release/image), and a second pipeline would
// push the same tags.
func TestGoreleaserNoDeprecatedOrImageKeys(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("goreleaser.yaml: %v", err)
	}
	for _, key := range []string{"brews", "dockers", "dockers_v2", "docker_manifests", "docker_signs", "kos"} {
		if _, ok := doc[key]; ok {
			t.Errorf("goreleaser.yaml has %s:, remove it (see the comment of this test)", key)
		}
	}
	for _, path := range [][]string{
		{"snapshot", "name_template"},
		{"archives", "*", "format"},
		{"archives", "*", "builds"},
		{"archives", "*", "format_overrides", "*", "format"},
		{"nfpms", "*", "builds"},
		{"homebrew_casks", "*", "binary"},
		{"homebrew_casks", "*", "manpage"},
	} {
		if has(doc, path) {
			t.Errorf("goreleaser.yaml sets deprecated %s (goreleaser check fails on it)", strings.ReplaceAll(strings.Join(path, "."), ".*", ""))
		}
	}
}

// has reports whether the YAML value v has a key at path, where "*" stands
// for every item of a list.
func has(v any, path []string) bool {
	if len(path) == 0 {
		return true
	}
	switch v := v.(type) {
	case map[string]any:
		next, ok := v[path[0]]
		return ok && has(next, path[1:])
	case []any:
		if path[0] != "*" {
			return false
		}
		return slices.ContainsFunc(v, func(item any) bool { return has(item, path[1:]) })
	}
	return false
}
