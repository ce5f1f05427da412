#!/usr/bin/env bash
# The pipe Lambda demo (`make demo-lambda`): a throwaway Git repository made
# from examples/lambda, the local AWS emulator (make dev-cloud) and pipe
# deploying an AWS Lambda function with a canary pipeline: a first
# deployment, a canary whose traffic split is watched through the alias,
# and a failed update that is rolled back. Needs Go and git; the traffic is
# shown with the AWS CLI when there is one (Debian's package awscli), else
# with curl against the emulator's state. Takes about half a minute.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pipe-demo-lambda.XXXXXX")
pipe="$tmp/bin/pipe"
# The emulator's pid and address live here: a dev cloud of your own (make
# dev-cloud in another shell) is neither used nor stopped by the demo.
export PIPE_TESTENV_CACHE="$tmp/testenv"

cleanup() {
	make -s --no-print-directory -C "$root" dev-cloud-down >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "build pipe"
(cd "$root" && go build -o "$pipe" ./cmd/pipe)
echo "$pipe"

step "start the local AWS emulator (Lambda, S3, STS)"
eval "$(make -s --no-print-directory -C "$root" dev-cloud)"
echo "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"
# The AWS CLI prints, never pages, and reads no profile of yours (the
# endpoint is given with --endpoint-url: before 2.13 it ignores
# AWS_ENDPOINT_URL).
export AWS_PAGER="" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_DEFAULT_PROFILE

# Debian's AWS CLI, else any on PATH; without one, curl shows the alias.
aws=""
if [ -x /usr/bin/aws ]; then
	aws=/usr/bin/aws
elif command -v aws >/dev/null 2>&1; then
	aws=$(command -v aws)
fi

# call: one call through the alias Service with the AWS CLI; prints the
# version that served it (X-Amz-Executed-Version).
call() {
	"$aws" --endpoint-url "$AWS_ENDPOINT_URL" --region "$AWS_REGION" lambda invoke \
		--function-name SimpleFunction:Service --query ExecutedVersion --output text /dev/null
}

# routing: the alias Service as the emulator's state shows it (curl).
routing() {
	local a
	a=$(curl -fsS "$AWS_ENDPOINT_URL/_awsemu/state" | grep -o '"aliases":\[[^]]*\]')
	printf 'version %s%s\n' "$(printf '%s' "$a" | sed -n 's/.*"FunctionVersion":"\([^"]*\)".*/\1/p')" \
		"$(printf '%s' "$a" | sed -n 's/.*"AdditionalVersionWeights":{"\([^"]*\)":\([0-9.]*\)}.*/, version \1 weight \2/p')"
}

# show: what serves the alias now.
show() {
	if [ -n "$aws" ]; then
		printf '$ aws lambda invoke --function-name SimpleFunction:Service --query ExecutedVersion --output text /dev/null\n'
		call
	else
		printf '$ curl %s/_awsemu/state  # the alias Service\n' "$AWS_ENDPOINT_URL"
		routing
	fi
}

# caller NAME: until the sync is done, calls through the alias one after
# another, each printed with the version that served it; without the AWS
# CLI, the alias's routing whenever it changes.
caller() {
	local v last=""
	while [ ! -e "$tmp/sync.done" ]; do
		if [ -n "$aws" ]; then
			v=$(call 2>/dev/null) || v="none (the call failed)"
			echo "$v" >>"$tmp/served"
			printf '   %s: a call through the alias was served by version %s\n' "$1" "$v"
		else
			v=$(routing)
			[ "$v" = "$last" ] || printf '   alias Service: %s\n' "$v"
			last=$v
			sleep 0.2
		fi
	done
}

work=$(mktemp -d "${TMPDIR:-/tmp}/pipe-demo-lambda-repo.XXXXXX")
step "a Git repository with one LambdaApp in $work"
cp -R "$root/examples/lambda/apps" "$work/"
cd "$work"
export GIT_AUTHOR_NAME="pipe demo" GIT_AUTHOR_EMAIL=pipe-demo@example.com
export GIT_COMMITTER_NAME="pipe demo" GIT_COMMITTER_EMAIL=pipe-demo@example.com
git init -q -b main
git add -A
git commit -q -m "hello v1"
# The demo has no remote: records stay in this clone (--no-push).
run cat apps/hello/app.pipecd.yaml

step "v1: the first deployment is a quick sync (function, version 1, alias Service)"
run "$pipe" sync hello --no-push
show

step "v2: a new image and environment; the planner chooses the pipeline"
cp "$root/examples/lambda/v2/function.yaml" apps/hello/function.yaml
git commit -q -am "hello v2"
run "$pipe" plan hello

step "sync v2 while calls go through the alias"
if [ -n "$aws" ]; then
	echo "(two loops call the alias with $aws meanwhile: the versions that serve the calls follow the split)"
fi
printf '$ %s\n' "$pipe sync hello --no-push"
{
	"$pipe" sync hello --no-push 2>&1 || echo $? >"$tmp/sync.failed"
	touch "$tmp/sync.done"
} &
sync=$!
watchers=()
caller "client A" &
watchers+=($!)
if [ -n "$aws" ]; then
	caller "client B" &
	watchers+=($!)
fi
wait "$sync"
wait "${watchers[@]}"
[ ! -e "$tmp/sync.failed" ] || { echo "the sync failed" >&2; exit 1; }
if [ -s "$tmp/served" ]; then
	printf '   %s calls during the sync: %s\n' "$(wc -l <"$tmp/served" | tr -d ' ')" \
		"$(sort "$tmp/served" | uniq -c | awk '{printf "%s%d× version %s", sep, $1, $2; sep=", "}')"
fi
show

step "v3: an image AWS cannot pull (the emulator fails the next update)"
sed -e 's/hello:v2/hello:v3/' apps/hello/function.yaml >"$tmp/v3.yaml" && cp "$tmp/v3.yaml" apps/hello/function.yaml
git commit -q -am "hello v3"
run curl -fsS -X POST "$AWS_ENDPOINT_URL/_awsemu/fail-next-update?function=SimpleFunction&reason=CannotPullImage:+hello:v3+not+found"
if run "$pipe" sync hello --no-push; then
	echo "the sync of v3 should have failed" >&2
	exit 1
fi
echo "(failed as intended: ROLLBACK gave \$LATEST v2's image back, the alias stayed on version 2)"
show

step "the deployments, recorded in Git notes"
run "$pipe" history hello

cat <<EOT

The demo repository is $work (its records in Git notes: git notes --ref=pipe/apps/hello list).
The emulator is stopped; \`eval "\$(make -s dev-cloud)"\` starts one of your own.
EOT
