// Package kube runs a real Kubernetes control plane on 127.0.0.1 for tests,
// benchmarks and the demo: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and KWOK as the kubelet of one fake node, so that
// Deployments really roll out (pods are scheduled, become Running and Ready,
// and Deployments Available within about a second).
//
// It owns building those programs once into a cache outside the repository
// (EnsureBinaries), starting and stopping one control plane (Start,
// Cluster), the per-package test lifecycle (Main, Shared,
// Cluster.NewNamespace) and the detached dev cluster (StartDetached,
// StopDir). It talks to the apiserver with net/http only, so the project's
// Kubernetes client libraries stay free to move.
//
// Typical use in a package's tests:
//
//	func TestMain(m *testing.M) { kube.Main(m) }
//
//	func TestSync(t *testing.T) {
//		c := kube.Shared(t)
//		ns := c.NewNamespace(t)
//		// c.Kubeconfig() (also in $KUBECONFIG), c.KubeconfigData,
//		// c.Client() for plain REST, c.Kubectl(ctx, args...)
//	}
package kube
