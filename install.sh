#!/bin/sh
# install.sh: download a pipe release, verify it (the sha256 checksum and, when
# cosign is installed, the keyless signature of the checksums file), install
# the binary.
#
#   curl -fsSL https://raw.githubusercontent.com/gitops-pipe/pipe/main/install.sh | sh
#   curl -fsSL https://raw.githubusercontent.com/gitops-pipe/pipe/main/install.sh | sh -s -- --version v1.2.3 --bin-dir ~/bin
#
# Run with --help for the options. Artifact names follow internal/release
# (pipe_<version>_<os>_<arch>.tar.gz|zip, pipe_<version>_checksums.txt and its
# signature pipe_<version>_checksums.txt.sigstore.json);
# internal/release/install_test.go runs this script end to end.
set -eu

REPO="gitops-pipe/pipe"
PROG="pipe-install"
# Releases are signed keyless by the release workflow of the release's tag,
# with a certificate GitHub Actions' OIDC issuer vouches for.
SIGNER_WORKFLOW="https://github.com/$REPO/.github/workflows/release.yml"
SIGNER_ISSUER="https://token.actions.githubusercontent.com"

usage() {
	cat <<'EOF'
Install pipe from its GitHub releases, verifying the archive's sha256 checksum
and, when cosign is installed, the release's signature.

Usage: install.sh [--version VERSION] [--bin-dir DIR] [--downloader curl|wget]
                  [--require-signature | --skip-signature]

Options:
  --version VERSION  version to install: v1.2.3, 1.2.3 or latest
                     (default: $PIPE_VERSION, else latest)
  --bin-dir DIR      directory to install the pipe binary into (default:
                     $PIPE_INSTALL_DIR, else /usr/local/bin if writable,
                     else $HOME/.local/bin)
  --downloader TOOL  curl or wget (default: $PIPE_INSTALL_DOWNLOADER, else
                     curl if installed, else wget)
  --require-signature
                     fail unless the signature is verified: cosign must be
                     installed (as PIPE_INSTALL_SIGNATURE=require)
  --skip-signature   do not verify the signature even if cosign is
                     installed; the sha256 checksum is still verified (as
                     PIPE_INSTALL_SIGNATURE=skip)
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
  PIPE_INSTALL_SIGNATURE  auto (default), require or skip: see above
  PIPE_INSTALL_COSIGN     the cosign command (default: cosign, from PATH)
  GITHUB_TOKEN            if set, sent to the GitHub API only (avoids rate limits)

Nothing is installed until the download is verified:
- signature: when cosign is installed (and not skipped), the checksums file
  must carry a valid keyless signature (a Sigstore bundle) made by pipe's
  release workflow for that very tag:
    https://github.com/gitops-pipe/pipe/.github/workflows/release.yml@refs/tags/<tag>
  (cosign v2.4.0 or newer reads the bundle, with --new-bundle-format);
- checksum: the archive's sha256 must match its line in the checksums file.
A failed check, or an archive missing from the checksums file, stops the
installation with an error.
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

# verify_signature CHECKSUMS BUNDLE: verify the keyless signature of the
# checksums file with cosign; stop the installation if it does not hold.
verify_signature() {
	identity="$SIGNER_WORKFLOW@refs/tags/$tag"
	if out=$("$cosign" verify-blob \
		--new-bundle-format \
		--bundle "$2" \
		--certificate-identity "$identity" \
		--certificate-oidc-issuer "$SIGNER_ISSUER" \
		"$1" 2>&1); then
		log "verified the signature of $checksums: signed by $identity"
		return 0
	fi
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    cosign: /' >&2
	fail "the signature of $checksums does not verify (cosign verify-blob failed, output above): it was not signed by pipe's release workflow for $tag, or the file was altered; refusing to install. If cosign says it cannot read the bundle, upgrade cosign to v2.4.0 or newer"
}

# --- arguments and environment ------------------------------------------------

version=${PIPE_VERSION:-}
bin_dir=${PIPE_INSTALL_DIR:-}
downloader=${PIPE_INSTALL_DOWNLOADER:-}
signature=${PIPE_INSTALL_SIGNATURE:-auto}
signature_from="PIPE_INSTALL_SIGNATURE=$signature"
cosign=${PIPE_INSTALL_COSIGN:-cosign}

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
	--require-signature | --skip-signature)
		mode=${1#--}
		mode=${mode%-signature}
		case $signature_from in
		--*) [ "$signature_from" = "$1" ] || fail "$signature_from and $1 contradict each other: pass one of them" ;;
		esac
		signature=$mode
		signature_from=$1
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

case $signature in
auto | skip) ;;
require)
	have "$cosign" ||
		fail "a verified signature is required ($signature_from), but cosign is not installed (looked for: $cosign). Install it (https://docs.sigstore.dev/cosign/system_config/installation/), or drop $signature_from to install with the sha256 check only"
	;;
*) fail "invalid PIPE_INSTALL_SIGNATURE: $signature (use auto, require or skip)" ;;
esac
verify_sig=no
if [ "$signature" != skip ] && have "$cosign"; then
	verify_sig=yes
fi

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
bundle="$checksums.sigstore.json"
base=${PIPE_DOWNLOAD_BASE_URL:-https://github.com/$REPO/releases/download}
base="${base%/}/$tag"

log "downloading pipe $tag for $os/$arch from $base"
fetch "$base/$archive" "$tmp/$archive" ||
	fail "could not download $base/$archive (does release $tag exist, with a build for $os/$arch?)"
fetch "$base/$checksums" "$tmp/$checksums" ||
	fail "could not download the checksums file $base/$checksums; refusing to install an unverified archive"

case $verify_sig in
yes)
	fetch "$base/$bundle" "$tmp/$bundle" ||
		fail "could not download the signature $base/$bundle (release $tag may predate signed releases); cosign is installed, so refusing to install an unsigned release. Pass --skip-signature to install it with the sha256 check only"
	verify_signature "$tmp/$checksums" "$tmp/$bundle"
	;;
*)
	if [ "$signature" = skip ]; then
		log "not verifying the signature ($signature_from); verifying the sha256 checksum only"
	else
		log "cosign is not installed: verifying the sha256 checksum only (install cosign to also verify the release's signature, or pass --require-signature to insist on it)"
	fi
	;;
esac

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
