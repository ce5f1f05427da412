#!/bin/sh
# install.sh: download a pipe release, verify its sha256 checksum, install the binary.
#
#   curl -fsSL https://raw.githubusercontent.com/gitops-pipe/pipe/main/install.sh | sh
#   curl -fsSL https://raw.githubusercontent.com/gitops-pipe/pipe/main/install.sh | sh -s -- --version v1.2.3 --bin-dir ~/bin
#
# Run with --help for the options. Artifact names follow internal/release
# (pipe_<version>_<os>_<arch>.tar.gz|zip and pipe_<version>_checksums.txt);
# internal/release/install_test.go runs this script end to end.
set -eu

REPO="gitops-pipe/pipe"
PROG="pipe-install"

usage() {
	cat <<'EOF'
Install pipe from its GitHub releases, verifying the archive's sha256 checksum.

Usage: install.sh [--version VERSION] [--bin-dir DIR] [--downloader curl|wget]

Options:
  --version VERSION  version to install: v1.2.3, 1.2.3 or latest
                     (default: $PIPE_VERSION, else latest)
  --bin-dir DIR      directory to install the pipe binary into (default:
                     $PIPE_INSTALL_DIR, else /usr/local/bin if writable,
                     else $HOME/.local/bin)
  --downloader TOOL  curl or wget (default: $PIPE_INSTALL_DOWNLOADER, else
                     curl if installed, else wget)
  -h, --help         show this help

Environment:
  PIPE_VERSION            version to install, as --version
  PIPE_INSTALL_DIR        install directory, as --bin-dir
  PIPE_DOWNLOAD_BASE_URL  where release files are downloaded from, as
                          <base>/<tag>/<file> (default:
                          https://github.com/gitops-pipe/pipe/releases/download);
                          set it to use a mirror
  PIPE_GITHUB_API_URL     GitHub API root used to resolve "latest"
                          (default: https://api.github.com)
  GITHUB_TOKEN            if set, sent to the GitHub API only (avoids rate limits)

The archive is checked against the release's checksums file before anything
is installed: a mismatch, or an archive missing from the checksums file,
stops the installation with an error.
EOF
}

log() {
	printf '%s: %s\n' "$PROG" "$*" >&2
}

fail() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

have() {
	command -v "$1" >/dev/null 2>&1
}

# need_arg OPTION COUNT: an option that takes a value has one.
need_arg() {
	[ "$2" -ge 2 ] || fail "$1 needs a value (see --help)"
}

# detect_os prints pipe's GOOS for this machine. PIPE_INSTALL_UNAME_S replaces
# `uname -s`; it exists for install.sh's own tests only.
detect_os() {
	uname_s=${PIPE_INSTALL_UNAME_S:-$(uname -s)}
	case $uname_s in
	Linux) echo linux ;;
	Darwin) echo darwin ;;
	MINGW* | MSYS* | CYGWIN* | Windows_NT) echo windows ;;
	*) fail "unsupported operating system: $uname_s (pipe is released for Linux, macOS and Windows; build it from source with: go install github.com/$REPO/cmd/pipe@latest)" ;;
	esac
}

# detect_arch OS prints pipe's GOARCH for this machine. PIPE_INSTALL_UNAME_M
# replaces `uname -m`; it exists for install.sh's own tests only.
detect_arch() {
	uname_m=${PIPE_INSTALL_UNAME_M:-$(uname -m)}
	case $uname_m in
	x86_64 | amd64 | AMD64) arch=amd64 ;;
	aarch64 | arm64 | ARM64 | aarch64_be) arch=arm64 ;;
	*) fail "unsupported architecture: $uname_m (pipe is released for amd64 and arm64; build it from source with: go install github.com/$REPO/cmd/pipe@latest)" ;;
	esac
	# An x86_64 shell under Rosetta 2 on Apple silicon: take the native build.
	if [ "$1" = darwin ] && [ "$arch" = amd64 ] && [ -z "${PIPE_INSTALL_UNAME_M:-}" ] &&
		[ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
		arch=arm64
	fi
	echo "$arch"
}

# fetch URL DEST [HEADER]: download URL to DEST, failing on HTTP errors.
fetch() {
	case $downloader in
	curl)
		if [ $# -ge 3 ]; then
			curl -fsSL --retry 3 -H "$3" -o "$2" "$1"
		else
			curl -fsSL --retry 3 -o "$2" "$1"
		fi
		;;
	wget)
		if [ $# -ge 3 ]; then
			wget -q --tries=3 --header="$3" -O "$2" "$1"
		else
			wget -q --tries=3 -O "$2" "$1"
		fi
		;;
	esac
}

# resolve_latest prints the tag of the latest release.
resolve_latest() {
	api=${PIPE_GITHUB_API_URL:-https://api.github.com}
	url="${api%/}/repos/$REPO/releases/latest"
	json="$tmp/latest.json"
	if [ -n "${GITHUB_TOKEN:-}" ]; then
		fetch "$url" "$json" "Authorization: Bearer $GITHUB_TOKEN" ||
			fail "could not query the latest release at $url (is GITHUB_TOKEN valid?)"
	else
		fetch "$url" "$json" ||
			fail "could not query the latest release at $url (rate limited? set GITHUB_TOKEN, or pass --version)"
	fi
	# One field per line, then pick "tag_name": no JSON tool needed.
	latest=$(tr -d '\r\n' <"$json" | tr ',' '\n' | tr '{' '\n' | tr '}' '\n' |
		sed -n 's/^[[:space:]]*"tag_name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' | head -n 1)
	[ -n "$latest" ] || fail "no tag_name in the answer of $url"
	echo "$latest"
}

# sha256_of FILE prints the hex sha256 of FILE.
sha256_of() {
	if have sha256sum; then
		sha256sum "$1" | cut -d ' ' -f 1
	elif have shasum; then
		shasum -a 256 "$1" | cut -d ' ' -f 1
	else
		fail "neither sha256sum nor shasum is installed: cannot verify the download, refusing to install"
	fi
}

# --- arguments and environment ------------------------------------------------

version=${PIPE_VERSION:-}
bin_dir=${PIPE_INSTALL_DIR:-}
downloader=${PIPE_INSTALL_DOWNLOADER:-}

while [ $# -gt 0 ]; do
	case $1 in
	--version)
		need_arg "$1" $#
		version=$2
		shift 2
		;;
	--version=*)
		version=${1#*=}
		shift
		;;
	--bin-dir)
		need_arg "$1" $#
		bin_dir=$2
		shift 2
		;;
	--bin-dir=*)
		bin_dir=${1#*=}
		shift
		;;
	--downloader)
		need_arg "$1" $#
		downloader=$2
		shift 2
		;;
	--downloader=*)
		downloader=${1#*=}
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		fail "unknown argument: $1 (see --help)"
		;;
	esac
done

case $downloader in
"")
	if have curl; then
		downloader=curl
	elif have wget; then
		downloader=wget
	else
		fail "neither curl nor wget is installed"
	fi
	;;
curl | wget)
	have "$downloader" || fail "$downloader is not installed"
	;;
*)
	fail "unsupported downloader: $downloader (use curl or wget)"
	;;
esac

os=$(detect_os)
arch=$(detect_arch "$os")

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t pipe-install)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- version ------------------------------------------------------------------

case $version in
"" | latest)
	log "resolving the latest release"
	tag=$(resolve_latest)
	;;
v*) tag=$version ;;
*) tag=v$version ;;
esac
case $tag in
v[0-9]*) ;;
*) fail "invalid version: $tag (expected vMAJOR.MINOR.PATCH, e.g. v1.2.3)" ;;
esac
case $tag in
*/* | *[[:space:]]* | *..*) fail "invalid version: $tag" ;;
esac
num=${tag#v}

# --- download and verify ------------------------------------------------------

if [ "$os" = windows ]; then
	ext=zip
	bin=pipe.exe
else
	ext=tar.gz
	bin=pipe
fi
archive="pipe_${num}_${os}_${arch}.${ext}"
checksums="pipe_${num}_checksums.txt"
base=${PIPE_DOWNLOAD_BASE_URL:-https://github.com/$REPO/releases/download}
base="${base%/}/$tag"

log "downloading pipe $tag for $os/$arch from $base"
fetch "$base/$archive" "$tmp/$archive" ||
	fail "could not download $base/$archive (does release $tag exist, with a build for $os/$arch?)"
fetch "$base/$checksums" "$tmp/$checksums" ||
	fail "could not download the checksums file $base/$checksums; refusing to install an unverified archive"

expected=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/$checksums")
[ -n "$expected" ] ||
	fail "$archive is not listed in $checksums; refusing to install an unverified archive"
actual=$(sha256_of "$tmp/$archive")
expected=$(printf '%s' "$expected" | tr 'A-F' 'a-f')
if [ "$actual" != "$expected" ]; then
	fail "checksum mismatch for $archive: expected sha256 $expected, got $actual; refusing to install (the download is corrupt or was tampered with)"
fi
log "verified sha256 of $archive ($actual)"

# --- extract and install -------------------------------------------------------

mkdir "$tmp/x"
case $ext in
tar.gz)
	tar -xzf "$tmp/$archive" -C "$tmp/x" ||
		fail "could not extract $archive"
	;;
zip)
	have unzip || fail "unzip is not installed: cannot extract $archive"
	unzip -q "$tmp/$archive" -d "$tmp/x" ||
		fail "could not extract $archive"
	;;
esac
[ -f "$tmp/x/$bin" ] || fail "$archive has no $bin at its root"

if [ -z "$bin_dir" ]; then
	if [ -d /usr/local/bin ] && [ -w /usr/local/bin ]; then
		bin_dir=/usr/local/bin
	else
		[ -n "${HOME:-}" ] || fail "HOME is not set: pass --bin-dir"
		bin_dir=$HOME/.local/bin
	fi
fi
mkdir -p "$bin_dir" || fail "could not create $bin_dir"
[ -w "$bin_dir" ] || fail "$bin_dir is not writable: pass --bin-dir, or run as a user who can write there"

# Copy next to the target, then rename: a running pipe is never half-written.
dest="$bin_dir/$bin"
staged="$bin_dir/.$bin.install.$$"
cp "$tmp/x/$bin" "$staged" || fail "could not write to $bin_dir"
chmod 0755 "$staged"
mv -f "$staged" "$dest" || {
	rm -f "$staged"
	fail "could not install $dest"
}
log "installed pipe $tag ($os/$arch) to $dest"

case ":${PATH:-}:" in
*":$bin_dir:"*) ;;
*) log "note: $bin_dir is not in your PATH; add it, e.g.: export PATH=\"$bin_dir:\$PATH\"" ;;
esac
