package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/execute"
)

// gatewayAPIGroup is the API group of the Gateway API.
const gatewayAPIGroup = "gateway.networking.k8s.io"

// maxBackendWeight is the largest backendRef weight the Gateway API allows.
const maxBackendWeight = 1000000

// httpRoute returns the app's Gateway API HTTPRoute among objs (the
// configured one, else the first), nil if none.
func (k *Runner) httpRoute(objs []*unstructured.Unstructured) *unstructured.Unstructured {
	name := ""
	if k.Spec.TrafficRouting != nil && k.Spec.TrafficRouting.GatewayAPI != nil {
		name = k.Spec.TrafficRouting.GatewayAPI.HTTPRoute
	}
	for _, u := range objs {
		if u.GetKind() == "HTTPRoute" && u.GroupVersionKind().Group == gatewayAPIGroup && (name == "" || u.GetName() == name) {
			return u
		}
	}
	return nil
}

// gatewayRouted reports whether the pipeline routes traffic with a Gateway
// API HTTPRoute: then the routing stages own the HTTPRoute, the rollouts
// leave it be, and the app's Service selects the primary variant only.
func (k *Runner) gatewayRouted() bool {
	return k.Spec.Pipeline.HasStage(config.StageK8sTrafficRouting) && k.Spec.TrafficRoutingMethod() == config.TrafficRoutingGatewayAPI
}

// routeGatewayAPI sets the backendRef weights of the HTTPRoute's rules that
// point at the primary, canary and baseline Services, and applies it.
func (k *Runner) routeGatewayAPI(ctx context.Context, st *execute.Stage, primary, canary, baseline int) error {
	route, err := k.gatewayAPIObject(k.Desired, primary, canary, baseline)
	if err != nil {
		return err
	}
	st.SetMeta("primary", strconv.Itoa(primary))
	st.SetMeta("canary", strconv.Itoa(canary))
	st.SetMeta("baseline", strconv.Itoa(baseline))
	objs := []*unstructured.Unstructured{route}
	if svc := FindService(k.Desired, k.Spec.Service.Name); svc != nil && svc.GetName() == k.gatewayService(svc) {
		// The primary's backend must not reach the other variants' pods
		// (a sync before the pipeline left the selector without the label).
		svc = svc.DeepCopy()
		if err := SetSelectorLabel(svc, k.label().key, k.label().primary); err != nil {
			return err
		}
		objs = append([]*unstructured.Unstructured{svc}, objs...)
	}
	if _, err := k.apply(ctx, st, objs, App{Namespaces: k.Namespaces, ID: k.AppID, CommitHash: k.Head}); err != nil {
		return err
	}
	st.Emitf("HTTPRoute %s: primary %d%%, canary %d%%, baseline %d%%", route.GetName(), primary, canary, baseline)
	return nil
}

// gatewayService returns the primary Service the HTTPRoute's backendRefs
// name: the configured one, else the app's Service (appSvc, may be nil).
func (k *Runner) gatewayService(appSvc *unstructured.Unstructured) string {
	if g := k.Spec.TrafficRouting.GatewayAPI; g != nil && g.Service != "" {
		return g.Service
	}
	if appSvc == nil {
		return ""
	}
	return appSvc.GetName()
}

// gatewayAPIObject returns the HTTPRoute of objs with the weights set.
func (k *Runner) gatewayAPIObject(objs []*unstructured.Unstructured, primary, canary, baseline int) (*unstructured.Unstructured, error) {
	route := k.httpRoute(objs)
	if route == nil {
		return nil, errors.New("traffic routing by gatewayapi: the manifests have no HTTPRoute (gateway.networking.k8s.io)")
	}
	route = route.DeepCopy()
	svc := k.gatewayService(FindService(k.Desired, k.Spec.Service.Name))
	if svc == "" {
		return nil, errors.New("traffic routing by gatewayapi: set trafficRouting.gatewayAPI.service (the manifests have no Service to take it from)")
	}
	canarySuffix, baselineSuffix := config.VariantCanary, config.VariantBaseline
	canaryService, baselineService := false, false
	for _, s := range k.Spec.Pipeline.Stages {
		switch o := s.With.(type) {
		case *config.K8sCanaryRolloutStageOptions:
			canarySuffix, canaryService = cmpStr(o.Suffix, canarySuffix), o.CreateService
		case *config.K8sBaselineRolloutStageOptions:
			baselineSuffix, baselineService = cmpStr(o.Suffix, baselineSuffix), o.CreateService
		}
	}
	if canary > 0 && !canaryService {
		return nil, errors.New("traffic routing by gatewayapi sends traffic to the canary's Service: set `createService: true` on K8S_CANARY_ROLLOUT")
	}
	if baseline > 0 && !baselineService {
		return nil, errors.New("traffic routing by gatewayapi sends traffic to the baseline's Service: set `createService: true` on K8S_BASELINE_ROLLOUT")
	}
	backends := []GatewayBackend{
		{Service: svc, Percent: primary},
		{Service: svc + "-" + canarySuffix, Percent: canary},
		{Service: svc + "-" + baselineSuffix, Percent: baseline},
	}
	n, err := SetHTTPRouteWeights(route, backends)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("traffic routing by gatewayapi: no rule of HTTPRoute %s has a backendRef to Service %s", route.GetName(), svc)
	}
	return route, nil
}

// GatewayBackend is one variant's Service and its share of the traffic.
type GatewayBackend struct {
	Service string
	Percent int
}

// SetHTTPRouteWeights rewrites the rules of an HTTPRoute that have a
// backendRef to one of the variant Services (backends, the primary first):
// the variants get one backendRef each, copied from the rule's first
// variant backendRef (port, filters...), with the weights of their
// percentages of the share the variants had (the sum of their weights, a
// missing weight being 1), leaving out zero weights; the other backendRefs
// and rules are kept. When that share is under 100, every weight of the rule
// is multiplied so that the split is exact and the other backends keep their
// proportion. It returns the number of rules changed.
func SetHTTPRouteWeights(route *unstructured.Unstructured, backends []GatewayBackend) (int, error) {
	rules, found, err := unstructured.NestedSlice(route.Object, "spec", "rules")
	if err != nil || !found {
		return 0, fmt.Errorf("HTTPRoute %s has no rules", route.GetName())
	}
	index := map[string]int{}
	for i, b := range backends {
		index[b.Service] = i
	}
	changed := 0
	for i, r := range rules {
		rule, ok := r.(map[string]any)
		if !ok {
			continue
		}
		refs, _ := rule["backendRefs"].([]any)
		var others []map[string]any
		var template map[string]any
		share := int64(0)
		for _, ref := range refs {
			rm, _ := ref.(map[string]any)
			if rm == nil {
				continue
			}
			if _, ok := index[serviceRef(rm)]; ok {
				if template == nil || serviceRef(rm) == backends[0].Service && serviceRef(template) != backends[0].Service {
					template = rm
				}
				share += refWeight(rm)
				continue
			}
			others = append(others, rm)
		}
		if template == nil {
			continue
		}
		changed++
		scale := int64(1)
		if share > 0 && share < 100 {
			scale = 100 / gcd(share, 100)
		}
		share *= scale
		weights := make([]int64, len(backends))
		var given int64
		for j, b := range backends {
			weights[j] = share * int64(b.Percent) / 100
			given += weights[j]
		}
		for j, b := range backends { // the rounding remainder to the first variant getting traffic
			if b.Percent > 0 {
				weights[j] += share - given
				break
			}
		}
		var next []any
		for j, b := range backends {
			if weights[j] == 0 && (j > 0 || share > 0) {
				continue // no traffic: no backendRef (the primary's stays when the variants get nothing)
			}
			ref := deepCopyMap(template)
			ref["name"] = b.Service
			ref["weight"] = weights[j]
			next = append(next, ref)
		}
		for _, o := range others {
			if scale != 1 {
				o = deepCopyMap(o)
				o["weight"] = refWeight(o) * scale
			}
			next = append(next, o)
		}
		for _, ref := range next {
			if w := toInt64(ref.(map[string]any)["weight"]); w > maxBackendWeight {
				return 0, fmt.Errorf("HTTPRoute %s rule %d: weight %d is over the Gateway API's maximum %d", route.GetName(), i, w, maxBackendWeight)
			}
		}
		rule["backendRefs"] = next
		rules[i] = rule
	}
	return changed, unstructured.SetNestedSlice(route.Object, rules, "spec", "rules")
}

// serviceRef returns the Service a backendRef names, "" when it names
// another kind of backend.
func serviceRef(ref map[string]any) string {
	group, _ := ref["group"].(string)
	kind, _ := ref["kind"].(string)
	if group != "" || kind != "" && kind != "Service" {
		return ""
	}
	name, _ := ref["name"].(string)
	return name
}

// refWeight is a backendRef's weight; the Gateway API's default is 1.
func refWeight(ref map[string]any) int64 {
	if _, ok := ref["weight"]; !ok {
		return 1
	}
	return toInt64(ref["weight"])
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func deepCopyMap(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}
