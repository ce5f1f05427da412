package kubernetes

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

var (
	podsGVR   = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	eventsGVR = schema.GroupVersionResource{Version: "v1", Resource: "events"}
)

// explain says why an object is not ready, in one line: for workloads the
// replica counts and the reasons of their pods (scheduling, container
// waiting/terminated states), else the latest warning event, else
// kstatus' message. Lookups that fail leave the explanation shorter.
func (c *Client) explain(ctx context.Context, k Key, u *unstructured.Unstructured, res *status.Result) string {
	msg := ""
	if res != nil {
		msg = res.Message
	}
	if res != nil && res.Status == status.TerminatingStatus {
		return "being deleted (finalizers: " + strings.Join(u.GetFinalizers(), ", ") + ")"
	}
	var parts []string
	selector := ""
	switch {
	case k.Group == "apps" && (k.Kind == "Deployment" || k.Kind == "StatefulSet" || k.Kind == "ReplicaSet"):
		parts = append(parts, replicaSummary(u, "spec.replicas", "status.availableReplicas", "status.updatedReplicas"))
		selector = labelSelector(u)
		if cond := condition(u, "Progressing"); cond != nil && cond["reason"] == "ProgressDeadlineExceeded" {
			parts = append(parts, fmt.Sprint("progress deadline exceeded: ", cond["message"]))
		}
	case k.Group == "apps" && k.Kind == "DaemonSet":
		parts = append(parts, replicaSummary(u, "status.desiredNumberScheduled", "status.numberAvailable", "status.updatedNumberScheduled"))
		selector = labelSelector(u)
	case k.Group == "batch" && k.Kind == "Job":
		if msg != "" {
			parts = append(parts, msg)
		}
		selector = labelSelector(u)
	case k.Group == "" && k.Kind == "Pod":
		if msg != "" {
			parts = append(parts, msg)
		}
		if r := podReasons(ctx, []corev1.Pod{toPod(u)}); r != "" {
			parts = append(parts, r)
		}
		return strings.Join(parts, ": ")
	case k.Group == "" && k.Kind == "PersistentVolumeClaim":
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		parts = append(parts, "phase "+phase)
	default:
		if msg != "" {
			parts = append(parts, msg)
		}
	}
	if selector != "" && k.Namespace != "" {
		if r := c.podsReason(ctx, k.Namespace, selector); r != "" {
			parts = append(parts, r)
			return strings.Join(parts, ": ")
		}
	}
	if ev := c.lastWarning(ctx, k, u); ev != "" {
		parts = append(parts, ev)
	}
	if len(parts) == 0 {
		return "not ready"
	}
	return strings.Join(parts, ": ")
}

// replicaSummary says how many replicas are available (and updated) of the
// desired count: "0 of 3 replicas available", "1 of 3 replicas
// unavailable", "rollout in progress: 1 of 3 replicas updated".
func replicaSummary(u *unstructured.Unstructured, wantPath, availPath, updatedPath string) string {
	get := func(p string) (int64, bool) {
		v, ok, _ := unstructured.NestedFieldNoCopy(u.Object, strings.Split(p, ".")...)
		switch n := v.(type) {
		case int64:
			return n, ok
		case float64: // decoded from YAML/JSON into a plain map
			return int64(n), ok
		}
		return 0, false
	}
	want, ok := get(wantPath)
	if !ok && wantPath == "spec.replicas" {
		want = 1
	}
	avail, _ := get(availPath)
	updated, hasUpdated := get(updatedPath)
	var s string
	switch {
	case avail == 0:
		s = fmt.Sprintf("0 of %d replicas available", want)
	case avail < want:
		s = fmt.Sprintf("%d of %d replicas unavailable", want-avail, want)
	default:
		s = fmt.Sprintf("%d of %d replicas available", avail, want)
	}
	if hasUpdated && updated < want && avail > 0 {
		s = fmt.Sprintf("rollout in progress: %d of %d replicas updated, %s", updated, want, s)
	}
	return s
}

func labelSelector(u *unstructured.Unstructured) string {
	sel, ok, _ := unstructured.NestedMap(u.Object, "spec", "selector")
	if !ok {
		return ""
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, &ls); err != nil {
		return ""
	}
	s, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil || s.Empty() {
		return ""
	}
	return s.String()
}

func condition(u *unstructured.Unstructured, typ string) map[string]any {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m
		}
	}
	return nil
}

func toPod(u *unstructured.Unstructured) corev1.Pod {
	var p corev1.Pod
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p)
	return p
}

// podsReason lists the pods of a workload and says why the ones that are
// not ready are not.
func (c *Client) podsReason(ctx context.Context, ns, selector string) string {
	l, err := c.dynamic.Resource(podsGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: 200})
	if err != nil {
		return ""
	}
	pods := make([]corev1.Pod, 0, len(l.Items))
	for i := range l.Items {
		pods = append(pods, toPod(&l.Items[i]))
	}
	if r := podReasons(ctx, pods); r != "" {
		return r
	}
	// No pod explains it: the pods' own warnings (e.g. FailedScheduling
	// before the condition is set, FailedMount).
	for _, p := range pods {
		if isPodReady(p) {
			continue
		}
		if ev := c.lastWarning(ctx, Key{Kind: "Pod", Namespace: ns, Name: p.Name}, nil); ev != "" {
			return ev
		}
	}
	return ""
}

// podReasons summarises why pods are not ready: distinct reasons, most
// frequent first, each with how many pods share it.
func podReasons(_ context.Context, pods []corev1.Pod) string {
	counts := map[string]int{}
	var order []string
	add := func(r string) {
		if counts[r] == 0 {
			order = append(order, r)
		}
		counts[r]++
	}
	for _, p := range pods {
		if p.DeletionTimestamp != nil || isPodReady(p) || p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		if r := podReason(p); r != "" {
			add(r)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return counts[order[i]] > counts[order[j]] })
	var parts []string
	for _, r := range order {
		if counts[r] > 1 {
			r = fmt.Sprintf("%s (%d pods)", r, counts[r])
		}
		parts = append(parts, r)
	}
	return strings.Join(parts, "; ")
}

func isPodReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podReason is the first thing that keeps a pod from being ready.
func podReason(p corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			if c.Reason == corev1.PodReasonUnschedulable {
				return "pods unschedulable: " + firstSentence(c.Message)
			}
			return "pods not scheduled: " + strings.TrimSpace(c.Reason+" "+c.Message)
		}
	}
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" &&
			cs.State.Waiting.Reason != "ContainerCreating" && cs.State.Waiting.Reason != "PodInitializing":
			r := cs.State.Waiting.Reason
			if m := strings.TrimSpace(cs.State.Waiting.Message); m != "" {
				r += " (container " + cs.Name + ": " + m + ")"
			}
			return r
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
			return fmt.Sprintf("container %s exited with code %d (%s)", cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Reason)
		case cs.LastTerminationState.Terminated != nil && cs.RestartCount > 0 && !cs.Ready:
			t := cs.LastTerminationState.Terminated
			return fmt.Sprintf("container %s restarted %d times, last exit code %d (%s)", cs.Name, cs.RestartCount, t.ExitCode, t.Reason)
		}
	}
	switch {
	case p.Spec.NodeName == "" || p.Status.Phase == corev1.PodPending:
		return "pods pending"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status != corev1.ConditionTrue {
			if c.Message != "" {
				return "pods not ready: " + c.Message
			}
			return "pods not ready"
		}
	}
	return ""
}

// lastWarning is the newest Warning event about the object (or, for a
// workload, about the ReplicaSets/pods named after it), as "Reason:
// message".
func (c *Client) lastWarning(ctx context.Context, k Key, u *unstructured.Unstructured) string {
	if k.Namespace == "" {
		return ""
	}
	sel := fields.Set{"type": corev1.EventTypeWarning}
	if u == nil || k.Kind == "Pod" {
		sel["involvedObject.name"] = k.Name
	}
	l, err := c.dynamic.Resource(eventsGVR).Namespace(k.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel.AsSelector().String(), Limit: 500})
	if err != nil {
		return ""
	}
	var best *corev1.Event
	for i := range l.Items {
		var ev corev1.Event
		if runtime.DefaultUnstructuredConverter.FromUnstructured(l.Items[i].Object, &ev) != nil {
			continue
		}
		n := ev.InvolvedObject.Name
		if n != k.Name && !(strings.HasPrefix(n, k.Name+"-") && (ev.InvolvedObject.Kind == "ReplicaSet" || ev.InvolvedObject.Kind == "Pod")) {
			continue
		}
		if best == nil || eventTime(&ev).After(eventTime(best).Time) {
			e := ev
			best = &e
		}
	}
	if best == nil {
		return ""
	}
	return best.Reason + ": " + strings.TrimSpace(best.Message)
}

func eventTime(ev *corev1.Event) metav1.Time {
	switch {
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp
	case !ev.EventTime.IsZero():
		return metav1.Time{Time: ev.EventTime.Time}
	}
	return ev.FirstTimestamp
}

// firstSentence cuts the scheduler's message after its first sentence
// ("0/3 nodes are available: 3 Insufficient cpu."); preemption details
// follow it.
func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
