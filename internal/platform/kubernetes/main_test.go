package kubernetes

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/gitops-pipe/pipe/internal/testenv/kube"
)

// The integration tests share one real control plane (etcd,
// kube-apiserver, controller-manager, scheduler, KWOK) per test binary.
func TestMain(m *testing.M) { kube.Main(m) }

// newClient connects to the shared control plane the way the CLI does:
// kubectl-style connection flags.
func newClient(t testing.TB, ns string, opts Options) *Client {
	t.Helper()
	c := kube.Shared(t)
	kc := c.Kubeconfig()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kc
	flags.Namespace = &ns
	cl, err := New(flags, opts)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Namespace() != ns {
		t.Fatalf("client namespace %q, want %q", cl.Namespace(), ns)
	}
	return cl
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) fn(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) actions(a Action) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Action == a {
			out = append(out, e.Key.Readable())
		}
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

// manifests parses YAML documents after replacing NS with the namespace.
func manifests(t testing.TB, ns, yaml string) []*unstructured.Unstructured {
	t.Helper()
	return objs(t, splitDocs(strings.ReplaceAll(yaml, "NS", ns))...)
}

func actionsOf(res *Result) map[string]Action {
	out := map[string]Action{}
	for _, o := range res.Objects {
		out[o.Key.Readable()] = o.Action
	}
	return out
}

func get(t testing.TB, cl *Client, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := cl.dynamic.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return u
}

var (
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	configMapsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	namespacesGVR  = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	crdsGVR        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// uniqueName returns a DNS label unique to this test run.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000_000)
}

// deleteLater deletes a cluster-scoped object when the test ends.
func deleteLater(t testing.TB, cl *Client, gvr schema.GroupVersionResource, name string) {
	t.Cleanup(func() {
		_ = cl.dynamic.Resource(gvr).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

var (
	createOpts     = metav1.CreateOptions{}
	getOpts        = metav1.GetOptions{}
	applyPatchType = types.ApplyPatchType
)

func patchOpts(manager string, force bool) metav1.PatchOptions {
	return metav1.PatchOptions{FieldManager: manager, Force: &force}
}

func kubeShared(t testing.TB) *kube.Cluster { return kube.Shared(t) }

var updateOpts = metav1.UpdateOptions{}
