package release

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"
)

// cliPackage is where cmd/pipe's version variables live; goreleaser sets them
// with -X.
const cliPackage = "github.com/gitops-pipe/pipe/internal/cli"

// goreleaserConfig is the part of goreleaser.yaml that the release artifacts'
// names and contents depend on. Other keys are ignored.
type goreleaserConfig struct {
	Version     int    `yaml:"version"`
	ProjectName string `yaml:"project_name"`
	Builds      []struct {
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
	} `yaml:"builds"`
	Archives []struct {
		Formats         []string `yaml:"formats"`
		FormatOverrides []struct {
			Goos    string   `yaml:"goos"`
			Formats []string `yaml:"formats"`
		} `yaml:"format_overrides"`
		NameTemplate    string   `yaml:"name_template"`
		Files           []string `yaml:"files"`
		WrapInDirectory any      `yaml:"wrap_in_directory"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
	} `yaml:"checksum"`
	Changelog struct {
		Sort string `yaml:"sort"`
	} `yaml:"changelog"`
	Nfpms []struct {
		IDs              []string `yaml:"ids"`
		PackageName      string   `yaml:"package_name"`
		FileNameTemplate string   `yaml:"file_name_template"`
		Formats          []string `yaml:"formats"`
		Bindir           string   `yaml:"bindir"`
		Homepage         string   `yaml:"homepage"`
		Maintainer       string   `yaml:"maintainer"`
		Description      string   `yaml:"description"`
		License          string   `yaml:"license"`
		Dependencies     []string `yaml:"dependencies"`
		Recommends       []string `yaml:"recommends"`
	} `yaml:"nfpms"`
	Sboms []struct {
		Artifacts string   `yaml:"artifacts"`
		Cmd       string   `yaml:"cmd"`
		Documents []string `yaml:"documents"`
		Args      []string `yaml:"args"`
	} `yaml:"sboms"`
	Signs []struct {
		Cmd         string   `yaml:"cmd"`
		Artifacts   string   `yaml:"artifacts"`
		Signature   string   `yaml:"signature"`
		Certificate string   `yaml:"certificate"`
		Args        []string `yaml:"args"`
	} `yaml:"signs"`
	HomebrewCasks []struct {
		Name        string   `yaml:"name"`
		IDs         []string `yaml:"ids"`
		Binaries    []string `yaml:"binaries"`
		Description string   `yaml:"description"`
		Homepage    string   `yaml:"homepage"`
		Repository  struct {
			Owner string `yaml:"owner"`
			Name  string `yaml:"name"`
			Token string `yaml:"token"`
		} `yaml:"repository"`
		Hooks struct {
			Post struct {
				Install string `yaml:"install"`
			} `yaml:"post"`
		} `yaml:"hooks"`
	} `yaml:"homebrew_casks"`
}

// templateData holds the goreleaser template fields that artifact names may use.
type templateData struct {
	ProjectName, Version, Os, Arch, ArtifactName string
}

func readGoreleaserConfig(t *testing.T) goreleaserConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg goreleaserConfig
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("goreleaser.yaml: %v", err)
	}
	return cfg
}

// render executes a goreleaser name template with data (a templateData, or
// a map for other fields).
func render(t *testing.T, name, text string, data any) string {
	t.Helper()
	tmpl, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.String()
}

// TestGoreleaserConfigMatchesNaming keeps goreleaser.yaml and the naming
// helpers (which install.sh follows) in step.
func TestGoreleaserConfigMatchesNaming(t *testing.T) {
	cfg := readGoreleaserConfig(t)
	if cfg.Version != 2 {
		t.Errorf("version = %d, want 2 (goreleaser v2 schema)", cfg.Version)
	}
	if cfg.ProjectName != BinaryName {
		t.Errorf("project_name = %q, want %q", cfg.ProjectName, BinaryName)
	}

	if len(cfg.Builds) != 1 {
		t.Fatalf("builds: got %d, want exactly 1", len(cfg.Builds))
	}
	b := cfg.Builds[0]
	if b.Main != "./cmd/pipe" || b.Binary != BinaryName {
		t.Errorf("build main/binary = %q/%q, want ./cmd/pipe/%s", b.Main, b.Binary, BinaryName)
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Errorf("build env %q lacks CGO_ENABLED=0", b.Env)
	}
	if !slices.Contains(b.Flags, "-trimpath") {
		t.Errorf("build flags %q lack -trimpath", b.Flags)
	}
	ldflags := strings.Fields(strings.Join(b.Ldflags, " "))
	for _, want := range []string{"-s", "-w"} {
		if !slices.Contains(ldflags, want) {
			t.Errorf("ldflags %q lack %s", ldflags, want)
		}
	}
	for _, v := range []string{"Version", "Commit", "Date"} {
		want := cliPackage + "." + v + "={{." + v + "}}"
		i := slices.Index(ldflags, want)
		if i < 1 || ldflags[i-1] != "-X" {
			t.Errorf("ldflags %q lack -X %s", ldflags, want)
		}
	}
	var oses, arches []string
	for _, p := range Platforms() {
		if !slices.Contains(oses, p.OS) {
			oses = append(oses, p.OS)
		}
		if !slices.Contains(arches, p.Arch) {
			arches = append(arches, p.Arch)
		}
	}
	if !sameSet(b.Goos, oses) || !sameSet(b.Goarch, arches) {
		t.Errorf("build targets %q x %q, want %q x %q", b.Goos, b.Goarch, oses, arches)
	}

	if len(cfg.Archives) != 1 {
		t.Fatalf("archives: got %d, want exactly 1", len(cfg.Archives))
	}
	a := cfg.Archives[0]
	if a.WrapInDirectory != nil && a.WrapInDirectory != false {
		t.Errorf("wrap_in_directory = %v: install.sh expects the binary at the archive root", a.WrapInDirectory)
	}
	for _, want := range []string{"README.md", "LICENSE"} {
		if !slices.ContainsFunc(a.Files, func(p string) bool { ok, _ := path.Match(p, want); return ok }) {
			t.Errorf("archive files %q do not include %s", a.Files, want)
		}
	}
	for _, p := range Platforms() {
		format := "tar.gz"
		if len(a.Formats) > 0 {
			format = a.Formats[0]
		}
		for _, o := range a.FormatOverrides {
			if o.Goos == p.OS && len(o.Formats) > 0 {
				format = o.Formats[0]
			}
		}
		data := templateData{ProjectName: cfg.ProjectName, Version: "1.2.3", Os: p.OS, Arch: p.Arch}
		got := render(t, "archives.name_template", a.NameTemplate, data) + "." + format
		if want := ArchiveName("v1.2.3", p.OS, p.Arch); got != want {
			t.Errorf("%s/%s: goreleaser archive %q, ArchiveName %q", p.OS, p.Arch, got, want)
		}
	}

	got := render(t, "checksum.name_template", cfg.Checksum.NameTemplate,
		templateData{ProjectName: cfg.ProjectName, Version: "1.2.3"})
	if want := ChecksumsName("v1.2.3"); got != want {
		t.Errorf("goreleaser checksums file %q, ChecksumsName %q", got, want)
	}
	if cfg.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum algorithm = %q, want sha256 (install.sh verifies sha256)", cfg.Checksum.Algorithm)
	}
	if cfg.Changelog.Sort == "" {
		t.Error("changelog.sort is not set")
	}
}

func TestNaming(t *testing.T) {
	for _, tc := range []struct{ version, goos, goarch, want string }{
		{"v1.2.3", "linux", "amd64", "pipe_1.2.3_linux_amd64.tar.gz"},
		{"1.2.3", "darwin", "arm64", "pipe_1.2.3_darwin_arm64.tar.gz"},
		{"v0.1.0-rc.1", "windows", "amd64", "pipe_0.1.0-rc.1_windows_amd64.zip"},
	} {
		if got := ArchiveName(tc.version, tc.goos, tc.goarch); got != tc.want {
			t.Errorf("ArchiveName(%q, %q, %q) = %q, want %q", tc.version, tc.goos, tc.goarch, got, tc.want)
		}
	}
	for _, tc := range []struct{ got, want string }{
		{ChecksumsName("v1.2.3"), "pipe_1.2.3_checksums.txt"},
		{SignatureName("1.2.3"), "pipe_1.2.3_checksums.txt.sigstore.json"},
		{SBOMName("v1.2.3", "darwin", "arm64"), "pipe_1.2.3_darwin_arm64.tar.gz.spdx.json"},
		{PackageName("v1.2.3", "arm64", "rpm"), "pipe_1.2.3_linux_arm64.rpm"},
		{SigningIdentity("1.2.3"), "https://github.com/gitops-pipe/pipe/.github/workflows/release.yml@refs/tags/v1.2.3"},
		{SigningIdentity("v1.2.3-rc.1"), "https://github.com/gitops-pipe/pipe/.github/workflows/release.yml@refs/tags/v1.2.3-rc.1"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if BinaryFile("windows") != "pipe.exe" || BinaryFile("linux") != "pipe" {
		t.Errorf("BinaryFile: windows %q, linux %q", BinaryFile("windows"), BinaryFile("linux"))
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
