package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
)

// virtualService returns the app's Istio VirtualService among objs (the
// configured one, else the first), nil if none.
func (k *Runner) virtualService(objs []*unstructured.Unstructured) *unstructured.Unstructured {
	var ref config.K8sResourceReference
	if k.Spec.TrafficRouting != nil && k.Spec.TrafficRouting.Istio != nil {
		ref = k.Spec.TrafficRouting.Istio.VirtualService
	}
	for _, u := range objs {
		if u.GetKind() == "VirtualService" && u.GroupVersionKind().Group == "networking.istio.io" && (ref.Name == "" || u.GetName() == ref.Name) {
			return u
		}
	}
	return nil
}

// istioRouted reports whether the pipeline routes traffic with Istio: then
// the routing stages own the VirtualService, and the rollouts leave it be.
func (k *Runner) istioRouted() bool {
	return k.Spec.Pipeline.HasStage(config.StageK8sTrafficRouting) && k.Spec.TrafficRoutingMethod() == config.TrafficRoutingIstio
}

// routeIstio sets the weights of the VirtualService's HTTP routes (the
// editable ones) to the host's primary, canary and baseline subsets, as
// PipeCD does: destinations of other hosts keep their weights, the
// variants share the rest.
func (k *Runner) routeIstio(ctx context.Context, st *execute.Stage, primary, canary, baseline int) error {
	vs, err := k.istioObject(k.Desired, primary, canary, baseline)
	if err != nil {
		return err
	}
	st.SetMeta("primary", strconv.Itoa(primary))
	st.SetMeta("canary", strconv.Itoa(canary))
	st.SetMeta("baseline", strconv.Itoa(baseline))
	if _, err := k.apply(ctx, st, []*unstructured.Unstructured{vs}, App{Namespaces: k.Namespaces, ID: k.AppID, CommitHash: k.Head}); err != nil {
		return err
	}
	st.Emitf("VirtualService %s: primary %d%%, canary %d%%, baseline %d%%", vs.GetName(), primary, canary, baseline)
	return nil
}

// istioObject returns the VirtualService of objs with the weights set.
func (k *Runner) istioObject(objs []*unstructured.Unstructured, primary, canary, baseline int) (*unstructured.Unstructured, error) {
	vs := k.virtualService(objs)
	if vs == nil {
		return nil, errors.New("traffic routing by istio: the manifests have no VirtualService (networking.istio.io)")
	}
	vs = vs.DeepCopy()
	var editable []string
	host := ""
	if ic := k.Spec.TrafficRouting.Istio; ic != nil {
		editable, host = ic.EditableRoutes, ic.Host
	}
	if host == "" {
		svc := FindService(k.Desired, k.Spec.Service.Name)
		if svc == nil {
			return nil, errors.New("traffic routing by istio: set trafficRouting.istio.host (the manifests have no Service to take it from)")
		}
		host = svc.GetName()
	}
	l := k.label()
	err := SetIstioWeights(vs, host, editable, map[string]int{l.primary: primary, l.canary: canary, l.baseline: baseline}, []string{l.primary, l.canary, l.baseline})
	return vs, err
}

// SetIstioWeights rewrites the destinations for host of the VirtualService's
// HTTP routes (those named in editable; all when empty) as one destination
// per subset with a weight, in order, leaving out zero weights; the
// destinations of other hosts are kept with their weights, and the
// subsets share what they leave (percent of 100 minus theirs).
func SetIstioWeights(vs *unstructured.Unstructured, host string, editable []string, percent map[string]int, order []string) error {
	routes, found, err := unstructured.NestedSlice(vs.Object, "spec", "http")
	if err != nil || !found {
		return fmt.Errorf("VirtualService %s has no http routes", vs.GetName())
	}
	for i, r := range routes {
		route, ok := r.(map[string]any)
		if !ok {
			continue
		}
		if name, _ := route["name"].(string); len(editable) > 0 && !slices.Contains(editable, name) {
			continue
		}
		dests, _ := route["route"].([]any)
		var others []any
		otherWeight := int64(0)
		for _, d := range dests {
			dm, _ := d.(map[string]any)
			dest, _ := dm["destination"].(map[string]any)
			if h, _ := dest["host"].(string); h == host {
				continue
			}
			others = append(others, d)
			otherWeight += toInt64(dm["weight"])
		}
		share := 100 - otherWeight
		if share < 0 {
			share = 0
		}
		var next []any
		var given int64
		for j, subset := range order {
			w := share * int64(percent[subset]) / 100
			if j == 0 {
				continue // the first subset gets the remainder, below
			}
			given += w
			if w > 0 {
				next = append(next, map[string]any{"destination": map[string]any{"host": host, "subset": subset}, "weight": w})
			}
		}
		if w := share - given; w > 0 && percent[order[0]] > 0 {
			next = append([]any{map[string]any{"destination": map[string]any{"host": host, "subset": order[0]}, "weight": w}}, next...)
		}
		route["route"] = append(next, others...)
		routes[i] = route
	}
	return unstructured.SetNestedSlice(vs.Object, routes, "spec", "http")
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}
