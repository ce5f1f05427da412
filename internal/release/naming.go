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

// BinaryFile returns the name of the executable inside the archive of goos.
func BinaryFile(goos string) string {
	if goos == "windows" {
		return BinaryName + ".exe"
	}
	return BinaryName
}
