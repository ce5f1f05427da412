package kubernetes

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestReplicaSummary(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 3}, status: {availableReplicas: 0}}`, "0 of 3 replicas available"},
		{`{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 3}, status: {availableReplicas: 2, updatedReplicas: 3}}`, "1 of 3 replicas unavailable"},
		{`{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 3}, status: {availableReplicas: 3, updatedReplicas: 1}}`, "rollout in progress: 1 of 3 replicas updated, 3 of 3 replicas available"},
		{`{apiVersion: apps/v1, kind: Deployment, spec: {}, status: {}}`, "0 of 1 replicas available"},
	} {
		u := obj(t, tc.doc)
		if got := replicaSummary(u, "spec.replicas", "status.availableReplicas", "status.updatedReplicas"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.doc, got, tc.want)
		}
	}
}

func TestPodReasons(t *testing.T) {
	unschedulable := corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}}}}
	pull := corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
		{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "nope"`}}}}}}
	ready := corev1.Pod{Spec: corev1.PodSpec{NodeName: "n"}, Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	if got, want := podReasons(nil, []corev1.Pod{unschedulable, unschedulable, unschedulable}), "pods unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. (3 pods)"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got, want := podReasons(nil, []corev1.Pod{ready, pull, ready}), `ImagePullBackOff (container app: Back-off pulling image "nope")`; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := podReasons(nil, []corev1.Pod{ready}); got != "" {
		t.Errorf("ready pods explained: %q", got)
	}
}
