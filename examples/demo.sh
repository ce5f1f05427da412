#!/usr/bin/env bash
# The pipe demo (`make demo`): a throwaway Git repository made from
# examples/demo, the local Kubernetes control plane, and pipe planning and
# syncing it. Needs only Go and git (the control plane is built from the Go
# module proxy on first use and cached).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pipe="$root/bin/pipe"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "build pipe"
make -C "$root" -s build

step "start the local Kubernetes control plane (built and cached on first use)"
eval "$(cd "$root" && go run ./internal/testenv/cmd/testenv up)"
echo "KUBECONFIG=$KUBECONFIG"

work=$(mktemp -d "${TMPDIR:-/tmp}/pipe-demo.XXXXXX")
step "a Git repository of two applications in $work"
cp -R "$root/examples/demo/." "$work/"
cd "$work"
export GIT_AUTHOR_NAME="pipe demo" GIT_AUTHOR_EMAIL=pipe-demo@example.com
export GIT_COMMITTER_NAME="pipe demo" GIT_COMMITTER_EMAIL=pipe-demo@example.com
git init -q -b main
git add -A
git commit -q -m "web and worker v1.0.0"
# The demo has no remote: records stay in this clone (--no-push).

step "validate every configuration file"
run "$pipe" validate

step "list the applications"
run "$pipe" apps

step "plan web: its first deployment is a quick sync"
run "$pipe" plan web

step "sync web and worker"
run "$pipe" sync web --no-push
run "$pipe" sync worker --no-push
"$pipe" status

step "a new image for web: the planner chooses the pipeline"
sed -i.bak 's/web:v1.0.0/web:v1.1.0/' apps/web/deployment.yaml && rm apps/web/deployment.yaml.bak
git commit -q -am "web v1.1.0"
run "$pipe" plan web

step "sync web again: a canary of 10%, a 30s wait, then the primary"
run "$pipe" sync web --no-push

step "the deployments, recorded in Git notes"
run "$pipe" history web
run git notes --ref=pipe/apps/web list

cat <<EOT

The demo repository is $work. The control plane keeps running:
  export KUBECONFIG=$KUBECONFIG
  make -C $root dev-cluster-down   # stop it
EOT
