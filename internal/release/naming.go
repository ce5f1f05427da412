package release

import "strings"

// BinaryName is the name of the pipe executable inside an archive, without
// the ".exe" suffix that Windows builds carry.
const BinaryName = "pipe"

// Platforms returns the GOOS/GOARCH pairs that a release is built for.
func Platforms() []Platform {
	return []Platform{
		{"linux", "amd64"}, {"linux", "arm64"},
		{"darwin", "amd64"}, {"darwin", "arm64"},
		{"windows", "amd64"}, {"windows", "arm64"},
	}
}

// Platform is one GOOS/GOARCH pair that a release is built for.
type Platform struct {
	OS   string
	Arch string
}

// ArchiveVersion returns the version as it appears in artifact names: the tag
// without its leading "v" (tag v1.2.3 -> 1.2.3), like goreleaser's .Version.
func ArchiveVersion(version string) string {
	return strings.TrimPrefix(version, "v")
}

// ArchiveFormat returns the archive format of a platform: "zip" for Windows,
// "tar.gz" everywhere else.
func ArchiveFormat(goos string) string {
	if goos == "windows" {
		return "zip"
	}
	return "tar.gz"
}

// ArchiveName returns the file name of the release archive of version for a
// platform, with its extension: pipe_1.2.3_linux_amd64.tar.gz. version may be
// given with or without the leading "v" of its tag.
func ArchiveName(version, goos, goarch string) string {
	return "pipe_" + ArchiveVersion(version) + "_" + goos + "_" + goarch + "." + ArchiveFormat(goos)
}

// ChecksumsName returns the file name of the checksums file of version:
// pipe_1.2.3_checksums.txt. It lists the sha256 of every archive of the
// release in the format of `sha256sum` ("<hex>  <file name>" per line).
func ChecksumsName(version string) string {
	return "pipe_" + ArchiveVersion(version) + "_checksums.txt"
}

// SignatureName returns the file name of the Sigstore bundle that signs the
// checksums file of version: pipe_1.2.3_checksums.txt.sigstore.json. The
// release workflow signs the checksums file keyless with cosign (the bundle
// holds the signature, the signing certificate and its transparency-log
// entry); install.sh verifies it when cosign is installed. The archives are
// covered through their sha256 in the signed checksums file.
func SignatureName(version string) string {
	return ChecksumsName(version) + ".sigstore.json"
}

// SBOMName returns the file name of the SPDX SBOM (JSON) published next to
// the archive of version for a platform: pipe_1.2.3_linux_amd64.tar.gz.spdx.json.
func SBOMName(version, goos, goarch string) string {
	return ArchiveName(version, goos, goarch) + ".spdx.json"
}

// PackageFormats returns the Linux package formats a release publishes for
// each Linux platform.
func PackageFormats() []string {
	return []string{"deb", "rpm"}
}

// PackageName returns the file name of the Linux package of version for
// goarch in format ("deb" or "rpm"): pipe_1.2.3_linux_amd64.deb. Packages
// follow the archives' naming, not each distribution's convention, so that
// one pattern names every download.
func PackageName(version, goarch, format string) string {
	return "pipe_" + ArchiveVersion(version) + "_linux_" + goarch + "." + format
}

// Image is the container image repository a release pushes to, tagged with
// the release tag (v1.2.3) and "latest".
const Image = "ghcr.io/gitops-pipe/pipe"

// SigningIssuer is the OIDC issuer of the certificates that sign releases:
// GitHub Actions.
const SigningIssuer = "https://token.actions.githubusercontent.com"

// SigningIdentity returns the identity (the certificate's subject) that signs
// the checksums file and the image of version: the release workflow run for
// its tag, https://github.com/gitops-pipe/pipe/.github/workflows/release.yml@refs/tags/v1.2.3.
// version may be given with or without the leading "v" of its tag.
func SigningIdentity(version string) string {
	return "https://github.com/gitops-pipe/pipe/.github/workflows/release.yml@refs/tags/v" + ArchiveVersion(version)
}

// BinaryFile returns the name of the executable inside the archive of goos.
func BinaryFile(goos string) string {
	if goos == "windows" {
		return BinaryName + ".exe"
	}
	return BinaryName
}
