package kube_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/testenv/kube"
)

func TestMain(m *testing.M) { kube.Main(m) }

type deploymentStatus struct {
	Metadata struct{ Generation int64 }
	Status   struct {
		ObservedGeneration                                          int64
		Replicas, ReadyReplicas, AvailableReplicas, UpdatedReplicas int
	}
}

func deployment(name string, replicas int) map[string]any {
	labels := map[string]string{"app": name}
	return map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": name, "labels": labels},
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{
					"containers": []any{map[string]any{
						"name":  "web",
						"image": "registry.invalid/web:1", // KWOK never pulls it
						"ports": []any{map[string]any{"containerPort": 8080}},
					}},
				},
			},
		},
	}
}

// waitAvailable polls the Deployment until all replicas are available and
// returns the time since start.
func waitAvailable(t *testing.T, c *kube.Cluster, ns, name string, replicas int, start time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var d deploymentStatus
	for {
		err := c.Client().Get(ctx, "/apis/apps/v1/namespaces/"+ns+"/deployments/"+name, &d)
		if err == nil && d.Status.ObservedGeneration >= d.Metadata.Generation && d.Status.AvailableReplicas == replicas {
			return time.Since(start)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("deployment %s/%s: %d of %d replicas available after %s (last error: %v, status %+v)",
				ns, name, d.Status.AvailableReplicas, replicas, timeout, err, d.Status)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestDeploymentBecomesAvailable(t *testing.T) {
	c := kube.Shared(t)
	ns := c.NewNamespace(t)
	ctx := t.Context()

	start := time.Now()
	if err := c.Client().Create(ctx, "/apis/apps/v1/namespaces/"+ns+"/deployments", deployment("web", 3), nil); err != nil {
		t.Fatal(err)
	}
	took := waitAvailable(t, c, ns, "web", 3, start, time.Minute)
	t.Logf("3 replicas Available %s after the Deployment was created", took.Round(time.Millisecond))

	var pods struct {
		Items []struct {
			Metadata struct{ Name string }
			Spec     struct{ NodeName string }
			Status   struct {
				Phase      string
				PodIP      string
				Conditions []struct{ Type, Status string }
			}
		}
	}
	if err := c.Client().Get(ctx, "/api/v1/namespaces/"+ns+"/pods?labelSelector="+url.QueryEscape("app=web"), &pods); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 3 {
		t.Fatalf("got %d pods, want 3", len(pods.Items))
	}
	for _, p := range pods.Items {
		ready := false
		for _, cond := range p.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				ready = true
			}
		}
		if p.Spec.NodeName != kube.NodeName || p.Status.Phase != "Running" || !ready || p.Status.PodIP == "" {
			t.Errorf("pod %s: node %q phase %q ready %v ip %q; want node %q, Running, Ready, an IP",
				p.Metadata.Name, p.Spec.NodeName, p.Status.Phase, ready, p.Status.PodIP, kube.NodeName)
		}
	}
}

func TestAPIServerRestart(t *testing.T) {
	c := kube.Shared(t)
	ns := c.NewNamespace(t)
	ctx := t.Context()

	cm := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "kept"},
		"data":     map[string]string{"key": "value"},
	}
	if err := c.Client().Create(ctx, "/api/v1/namespaces/"+ns+"/configmaps", cm, nil); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	c.StopAPIServer()
	t.Logf("kube-apiserver stopped in %s", time.Since(start).Round(time.Millisecond))
	if err := c.Client().Ready(ctx); err == nil {
		t.Fatal("apiserver still answers /readyz after StopAPIServer")
	} else {
		t.Logf("while stopped: %v", err)
	}

	start = time.Now()
	if err := c.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver ready again in %s", time.Since(start).Round(time.Millisecond))

	var got struct{ Data map[string]string }
	if err := c.Client().Get(ctx, "/api/v1/namespaces/"+ns+"/configmaps/kept", &got); err != nil {
		t.Fatal(err)
	}
	if got.Data["key"] != "value" {
		t.Fatalf("ConfigMap data after restart = %v, want key=value", got.Data)
	}

	// The controllers, the scheduler and KWOK reconnect: a new Deployment
	// still rolls out.
	start = time.Now()
	if err := c.Client().Create(ctx, "/apis/apps/v1/namespaces/"+ns+"/deployments", deployment("after", 2), nil); err != nil {
		t.Fatal(err)
	}
	took := waitAvailable(t, c, ns, "after", 2, start, 2*time.Minute)
	t.Logf("Deployment after the restart Available in %s", took.Round(time.Millisecond))
}

func TestKubectl(t *testing.T) {
	c := kube.Shared(t)
	ctx := t.Context()

	out, err := c.Kubectl(ctx, "get", "nodes", "-o", "json").Output()
	if err != nil {
		t.Fatalf("kubectl get nodes: %v", stderrOf(err))
	}
	var nodes struct {
		Items []struct {
			Metadata struct{ Name string }
			Status   struct {
				Conditions []struct{ Type, Status string }
			}
		}
	}
	if err := json.Unmarshal(out, &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 1 || nodes.Items[0].Metadata.Name != kube.NodeName {
		t.Fatalf("kubectl get nodes: %s", out)
	}

	out, err = c.Kubectl(ctx, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("kubectl version: %v", stderrOf(err))
	}
	var v struct {
		ClientVersion, ServerVersion struct{ GitVersion string }
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if v.ClientVersion.GitVersion != kube.KubernetesVersion || v.ServerVersion.GitVersion != kube.KubernetesVersion {
		t.Errorf("kubectl version: client %q server %q, want %s", v.ClientVersion.GitVersion, v.ServerVersion.GitVersion, kube.KubernetesVersion)
	}
}

func TestNamespaceName(t *testing.T) {
	c := kube.Shared(t)
	for range 2 {
		t.Run("Weird/Name With_Chars and a very long tail that goes on and on and on", func(t *testing.T) {
			ns := c.NewNamespace(t)
			if len(ns) > 63 {
				t.Errorf("namespace %q longer than 63", ns)
			}
		})
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Sprintf("%v: %s", err, ee.Stderr)
	}
	return err.Error()
}
