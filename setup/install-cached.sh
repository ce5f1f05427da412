#!/usr/bin/env bash
# install-cached.sh: the install step of both pipe GitHub Actions
# (setup/action.yml and action.yml at the repository root).
#
# It resolves the version to install, installs that release with install.sh
# (which verifies the archive's sha256 against the release's checksums file)
# into the runner's tool cache, $RUNNER_TOOL_CACHE/pipe/<version>/<arch>,
# unless it is there already, puts it on the PATH and writes the step
# outputs version, path and cache-hit. internal/release/action_test.go runs
# it through both actions against a local release server.
#
# The actions pass their inputs in the environment:
#   PIPE_SETUP_VERSION      v1.4.2 or 1.4.2 (that release), v1 or v1.4 (the
#                           newest matching release), latest, or empty: the
#                           release of the action's own ref
#   PIPE_SETUP_ACTION_REF   github.action_ref: a release tag (v1.4.2, v1,
#                           v1.4), a commit (the release tagged on it) or a
#                           branch (latest)
#   PIPE_RUNNER_API_URL     the workflow's GitHub API (github.api_url): the
#                           token is only sent to it
#   PIPE_SETUP_TOKEN        token for the GitHub API requests (latest, v1,
#                           a commit); never sent to the download host
#   PIPE_SETUP_SIGNATURE    auto (default), require or skip: install.sh's
#                           check of the release's cosign signature
#   PIPE_SETUP_INSTALL_DIR  optional: also copy pipe there and put that
#                           directory on the PATH
#   PIPE_SETUP_ARCH         runner.arch (X64, ARM64): the cache's <arch>
#   PIPE_SETUP_OS           runner.os (Linux, macOS, Windows)
# and the runner's RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_OUTPUT and
# GITHUB_PATH. PIPE_GITHUB_API_URL and PIPE_DOWNLOAD_BASE_URL name mirrors,
# and PIPE_INSTALL_DOWNLOADER picks curl or wget, as for install.sh.
set -euo pipefail

REPO=gitops-pipe/pipe
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
install_sh="$here/../install.sh"

# --- messages: workflow commands, their data escaped ---------------------------

esc() {
	local s=$1
	s=${s//'%'/%25}
	s=${s//$'\r'/%0D}
	s=${s//$'\n'/%0A}
	printf '%s' "$s"
}
fail() {
	echo "::error title=pipe setup::$(esc "$*")"
	exit 1
}
warn() { echo "::warning title=pipe setup::$(esc "$*")"; }
note() { echo "::notice title=pipe setup::$(esc "$*")"; }
log() { echo "pipe setup: $*"; }

# trim S prints S without leading and trailing white space.
trim() {
	local s=$1
	s=${s#"${s%%[![:space:]]*}"}
	printf '%s' "${s%"${s##*[![:space:]]}"}"
}

# --- the runner ----------------------------------------------------------------

{ [ -n "${GITHUB_OUTPUT:-}" ] && [ -n "${GITHUB_PATH:-}" ]; } ||
	fail "GITHUB_OUTPUT or GITHUB_PATH is not set: this script is the install step of the pipe GitHub Actions; elsewhere, run install.sh"
[ -f "$install_sh" ] || fail "$install_sh is missing: the action's files are incomplete"

os=${PIPE_SETUP_OS:-}
[ -n "$os" ] || case $(uname -s) in
MINGW* | MSYS* | CYGWIN*) os=Windows ;;
Darwin) os=macOS ;;
*) os=Linux ;;
esac
exe=pipe
[ "$os" != Windows ] || exe=pipe.exe

arch=${PIPE_SETUP_ARCH:-$(uname -m)}
case $arch in
X64 | x64 | x86_64 | amd64 | AMD64) arch=x64 ;;
ARM64 | arm64 | aarch64) arch=arm64 ;;
*) fail "unsupported runner architecture: $arch (pipe is released for X64 and ARM64)" ;;
esac

# The downloader, chosen as install.sh chooses (which reads the same variable).
dl=${PIPE_INSTALL_DOWNLOADER:-}
case $dl in
"")
	if command -v curl >/dev/null 2>&1; then
		dl=curl
	elif command -v wget >/dev/null 2>&1; then
		dl=wget
	else
		fail "neither curl nor wget is installed on the runner"
	fi
	;;
curl | wget)
	command -v "$dl" >/dev/null 2>&1 || fail "PIPE_INSTALL_DOWNLOADER is $dl, which is not installed on the runner"
	;;
*) fail "invalid PIPE_INSTALL_DOWNLOADER: $dl (use curl or wget)" ;;
esac

tmp=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/pipe-setup.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- GitHub API ------------------------------------------------------------------

api=${PIPE_GITHUB_API_URL:-https://api.github.com}
api=${api%/}
token=$(trim "${PIPE_SETUP_TOKEN:-}")
# The workflow's token belongs to its own GitHub (github.api_url): on
# GitHub Enterprise Server it is not sent to another API.
runner_api=${PIPE_RUNNER_API_URL:-}
runner_api=${runner_api%/}
if [ -n "$token" ] && [ -n "$runner_api" ] && [ "$runner_api" != "$api" ]; then
	echo "::notice title=pipe setup::the token is for $runner_api: calling $api without it"
	token=
fi

# The headers go through files (mode 600), so that the token is in no
# command line that another process could read.
mask=$(umask)
umask 077
printf 'Accept: application/vnd.github+json\nX-GitHub-Api-Version: 2022-11-28\n' >"$tmp/anon.h"
{
	cat "$tmp/anon.h"
	printf 'Authorization: Bearer %s\n' "$token"
} >"$tmp/auth.h"
umask "$mask"

# get URL DEST HEADERS: download URL into DEST; sets $code to the HTTP
# status (000: no answer).
get() {
	code=000
	case $dl in
	curl)
		code=$(curl -sSL --retry 3 --connect-timeout 30 -H "@$3" -o "$2" -w '%{http_code}' "$1") || true
		;;
	wget)
		local rc="$tmp/wgetrc"
		sed 's/^/header = /' "$3" >"$rc"
		# No redirect with the token: old wget forwarded headers to the
		# redirect's host (CVE-2021-31879).
		local redirects=20
		[ "$3" != "$tmp/auth.h" ] || redirects=0
		code=$(wget -S -q --tries=3 --timeout=30 --max-redirect="$redirects" --config="$rc" -O "$2" "$1" 2>&1 >/dev/null |
			awk '$1 ~ /^HTTP\// { c = $2 } END { print c }') || true
		;;
	esac
	case $code in [0-9][0-9][0-9]) ;; *) code=000 ;; esac
}

# api_get PATH DEST: GET $api/PATH into DEST, with the token if there is one;
# any answer but 2xx stops with what to do.
api_get() {
	local url="$api/$1"
	if [ -n "$token" ]; then
		get "$url" "$2" "$tmp/auth.h"
		if [ "$code" = 401 ]; then
			# GitHub Enterprise Server's workflow token is not valid on github.com.
			warn "$api refused the token (HTTP 401); retrying without it. On GitHub Enterprise Server, pass a github.com token as the token input, or pin version to a release (v1.2.3), which needs no API request."
			get "$url" "$2" "$tmp/anon.h"
		fi
	else
		get "$url" "$2" "$tmp/anon.h"
	fi
	case $code in
	2??) ;;
	000) fail "could not reach $url (network, proxy or DNS); pin version to a release (v1.2.3) to install without the API" ;;
	403 | 429) fail "$url answered HTTP $code (rate limited?): pass a token input, or pin version to a release (v1.2.3)" ;;
	*) fail "$url answered HTTP $code" ;;
	esac
}

# json FILE prints one line "PATH<TAB>VALUE" per scalar of the JSON in FILE:
# PATH joins object keys and array indexes with dots (0.commit.sha), VALUE
# is the scalar as written (a string without its quotes, escapes kept).
# Runners need no jq: the answers are read with awk, whatever the order of
# their members and whatever a release's text holds.
json() {
	# JSON strings hold no raw line break: removing them changes no value.
	tr -d '\r\n' <"$1" | LC_ALL=C awk '
	{ doc = doc $0 }
	END {
		n = length(doc); d = 0; i = 1
		while (i <= n) {
			c = substr(doc, i, 1)
			if (c == "{" || c == "[") {
				d++; kind[d] = c; key[d] = (c == "[") ? 0 : ""; want[d] = (c == "{"); i++
			} else if (c == "}" || c == "]") {
				d--; i++
			} else if (c == ",") {
				if (kind[d] == "[") key[d]++; else want[d] = 1
				i++
			} else if (c == ":") {
				want[d] = 0; i++
			} else if (c == "\"") {
				j = i + 1
				while (j <= n && (ch = substr(doc, j, 1)) != "\"") j += (ch == "\\") ? 2 : 1
				s = substr(doc, i + 1, j - i - 1); i = j + 1
				if (kind[d] == "{" && want[d]) key[d] = s; else leaf(s)
			} else if (c ~ /[-0-9a-z]/) {
				j = i
				while (j <= n && substr(doc, j, 1) ~ /[-+.0-9a-zA-Z]/) j++
				leaf(substr(doc, i, j - i)); i = j
			} else {
				i++
			}
		}
	}
	function leaf(v,   p, k) {
		p = ""
		for (k = 1; k <= d; k++) p = p (k > 1 ? "." : "") key[k]
		print p "\t" v
	}'
}

# newest reads tags on stdin, prints the newest vMAJOR.MINOR.PATCH among them.
newest() {
	grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sed 's/^v//' |
		sort -t . -k1,1n -k2,2n -k3,3n | tail -n 1 | sed 's/^./v&/' || true
}

# resolve_latest sets tag to the latest release's tag.
resolve_latest() {
	api_get "repos/$REPO/releases/latest" "$tmp/latest.json"
	tag=$(json "$tmp/latest.json" | awk -F '\t' '$1 == "tag_name" { print $2; exit }')
	[ -n "$tag" ] || fail "no tag_name in the answer of $api/repos/$REPO/releases/latest"
}

# paged PATH AWK [SHA]: GETs the pages of the list $api/PATH (up to 10 of 100
# items) and appends to $tmp/found what the awk program prints of each
# page's flattened JSON.
paged() {
	local page=1 n
	: >"$tmp/found"
	while [ "$page" -le 10 ]; do
		api_get "$1?per_page=100&page=$page" "$tmp/page.json"
		json "$tmp/page.json" >"$tmp/page"
		awk -F '\t' -v sha="${3:-}" "$2" "$tmp/page" >>"$tmp/found"
		n=$(cut -f 1 "$tmp/page" | cut -d . -f 1 | sort -u | wc -l)
		[ "$n" -ge 100 ] || break
		page=$((page + 1))
	done
}

# resolve_prefix P sets tag to the newest release vP.x.y (P: 1 or 1.4);
# drafts, prereleases and prerelease tags (v1.5.0-rc.1) are skipped.
resolve_prefix() {
	# shellcheck disable=SC2016 # an awk program
	paged "repos/$REPO/releases" '
		{ split($1, p, ".") }
		p[2] == "tag_name" && p[3] == "" { tag[p[1]] = $2 }
		(p[2] == "draft" || p[2] == "prerelease") && p[3] == "" && $2 == "true" { skip[p[1]] = 1 }
		END { for (i in tag) if (!(i in skip)) print tag[i] }'
	tag=$(awk -v p="v$1." 'index($0, p) == 1' "$tmp/found" | newest)
	[ -n "$tag" ] || fail "no pipe release matches v$1 (see https://github.com/$REPO/releases); set the version input to an existing release"
}

# resolve_commit SHA sets tag to the release tagged on the commit SHA, or to
# the latest release when none is.
resolve_commit() {
	# shellcheck disable=SC2016 # an awk program
	paged "repos/$REPO/tags" '
		{ split($1, p, ".") }
		p[2] == "name" && p[3] == "" { name[p[1]] = $2 }
		p[2] == "commit" && p[3] == "sha" && $2 == sha { hit[p[1]] = 1 }
		END { for (i in hit) print name[i] }' "$1"
	tag=$(newest <"$tmp/found")
	if [ -z "$tag" ]; then
		warn "the action's commit $1 is not a release's commit: installing the latest release. Set the version input to pin it."
		resolve_latest
	fi
}

# --- the version -------------------------------------------------------------------

signature=$(trim "${PIPE_SETUP_SIGNATURE:-}")
case ${signature:=auto} in
auto) signature_flag= ;;
require | skip) signature_flag=--$signature-signature ;;
*) fail "invalid signature input '$signature': use auto (verify when cosign is installed), require or skip" ;;
esac

version=$(trim "${PIPE_SETUP_VERSION:-}")
ref=$(trim "${PIPE_SETUP_ACTION_REF:-}")
ref=${ref#refs/tags/}
from="the version input"
commit=
if [ -z "$version" ]; then
	from="the action's ref ($ref)"
	if [ -z "$ref" ]; then
		note "the action's ref is unknown (a local action?): installing the latest release. Set the version input to pin it."
		version=latest
	elif [[ $ref =~ ^[0-9a-f]{40}$ ]]; then
		commit=$ref
	elif [[ $ref =~ ^v?[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z.-]+)?$ ]]; then
		version=$ref
	else
		note "the action's ref $ref is not a release tag: installing the latest release. Use the action @v1 or set the version input to pin it."
		version=latest
	fi
fi

tag=
if [ -n "$commit" ]; then
	resolve_commit "$commit"
elif [ "$version" = latest ]; then
	resolve_latest
elif [[ $version =~ ^v?([0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?)$ ]]; then
	tag=v${BASH_REMATCH[1]}
elif [[ $version =~ ^v?([0-9]+(\.[0-9]+)?)$ ]]; then
	resolve_prefix "${BASH_REMATCH[1]}"
else
	fail "invalid version from $from: '$version'. Use a release (v1.2.3), the newest of a line (v1, v1.2) or latest."
fi
[[ $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
	fail "the GitHub API named '$tag' as the release to install, which is not a version tag"
num=${tag#v}

# --- the tool cache ------------------------------------------------------------------

# cached ROOT: whether pipe $num is complete in the cache ROOT. The .complete
# marker (as @actions/tool-cache writes it) is written after the binary is in
# place: a job killed while installing leaves no marker. It says whether the
# signature was required: an install that did not require it does not
# satisfy signature: require.
cached() {
	[ -n "$1" ] && [ -f "$1/pipe/$num/$arch.complete" ] && [ -x "$1/pipe/$num/$arch/$exe" ] || return 1
	[ "$signature" != require ] && return 0
	grep -qx 'signature=verified' "$1/pipe/$num/$arch.complete" && return 0
	log "pipe $tag in $1 was installed without requiring its signature: installing it again"
	return 1
}

writable() {
	[ -n "$1" ] && mkdir -p "$1/pipe/$num/$arch" 2>/dev/null && [ -w "$1/pipe/$num/$arch" ]
}

hit=false
root=${RUNNER_TOOL_CACHE:-}
fallback=
[ -z "${RUNNER_TEMP:-}" ] || fallback=$RUNNER_TEMP/pipe-tool-cache
if cached "$root"; then
	hit=true
elif cached "$fallback"; then
	root=$fallback
	hit=true
elif ! writable "$root"; then
	writable "$fallback" ||
		fail "neither the runner's tool cache (RUNNER_TOOL_CACHE=${root:-unset}) nor RUNNER_TEMP (${RUNNER_TEMP:-unset}) is a writable directory"
	note "the runner's tool cache (RUNNER_TOOL_CACHE=${root:-unset}) is not writable: pipe is installed in $fallback, for this job only"
	root=$fallback
fi
dir="$root/pipe/$num/$arch"

if [ "$hit" = true ]; then
	log "pipe $tag ($arch) found in the tool cache: $dir"
else
	# install.sh gets the exact version: it asks the GitHub API nothing, and
	# gets no token. It replaces the binary by a rename, so jobs installing
	# the same release side by side never see a half-written pipe. (PATH:
	# the directory goes on the job's PATH below; install.sh need not say so.)
	env -u GITHUB_TOKEN -u PIPE_VERSION -u PIPE_INSTALL_DIR PATH="$PATH:$dir" \
		sh "$install_sh" --version "$tag" --bin-dir "$dir" ${signature_flag:+"$signature_flag"} ||
		fail "could not install pipe $tag (install.sh failed; its messages are above)"
	if [ "$signature" = require ]; then
		echo signature=verified >"$root/pipe/$num/$arch.complete"
	else
		echo signature=unknown >"$root/pipe/$num/$arch.complete"
	fi
fi

bin_dir=$dir
install_dir=$(trim "${PIPE_SETUP_INSTALL_DIR:-}")
if [ -n "$install_dir" ]; then
	mkdir -p "$install_dir" || fail "could not create the install-dir $install_dir"
	install_dir=$(cd "$install_dir" && pwd)
	staged="$install_dir/.$exe.setup.$$"
	if ! { cp "$dir/$exe" "$staged" && chmod 0755 "$staged" && mv -f "$staged" "$install_dir/$exe"; }; then
		rm -f "$staged"
		fail "could not copy pipe into the install-dir $install_dir"
	fi
	bin_dir=$install_dir
	log "copied pipe $tag to $bin_dir"
fi

# The runner reads GITHUB_PATH and the outputs as Windows paths on Windows.
native() {
	if [ "$os" = Windows ] && command -v cygpath >/dev/null 2>&1; then
		cygpath -w "$1"
	else
		printf '%s' "$1"
	fi
}
printf '%s\n' "$(native "$bin_dir")" >>"$GITHUB_PATH"
log "pipe $tag is on the PATH: $bin_dir/$exe"
{
	echo "version=$tag"
	echo "path=$(native "$bin_dir/$exe")"
	echo "cache-hit=$hit"
} >>"$GITHUB_OUTPUT"
