// Package e2e holds the end-to-end scenarios that need the local
// Kubernetes control plane: txtar scripts in testdata/script/kube drive the
// real pipe main against a real kube-apiserver (internal/testenv/kube).
package e2e
