package config

import (
	"strings"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// Traffic routing methods of a KubernetesApp.
const (
	// TrafficRoutingPodSelector switches all traffic to one variant through
	// the Service selector; it cannot split traffic.
	TrafficRoutingPodSelector = "podselector"
	// TrafficRoutingIstio splits traffic with an Istio VirtualService.
	TrafficRoutingIstio = "istio"
	// TrafficRoutingSMI splits traffic with an SMI TrafficSplit.
	TrafficRoutingSMI = "smi"
	// TrafficRoutingGatewayAPI splits traffic with the backendRef weights
	// of a Gateway API HTTPRoute (not a PipeCD method).
	TrafficRoutingGatewayAPI = "gatewayapi"
)

var trafficRoutingMethods = []string{TrafficRoutingPodSelector, TrafficRoutingIstio, TrafficRoutingSMI, TrafficRoutingGatewayAPI}

// KubernetesTrafficRouting says how traffic is split between variants.
type KubernetesTrafficRouting struct {
	// podselector (the Service selector; all or nothing), istio, smi or
	// gatewayapi (the backendRef weights of a Gateway API HTTPRoute).
	Method string `json:"method,omitempty" jsonschema:"default=podselector,enum=podselector,enum=istio,enum=smi,enum=gatewayapi"`
	// Istio settings, for the istio method.
	Istio *IstioTrafficRouting `json:"istio,omitempty"`
	// Gateway API settings, for the gatewayapi method.
	GatewayAPI *GatewayAPITrafficRouting `json:"gatewayAPI,omitempty"`
}

// Validate implements validatable.
func (t *KubernetesTrafficRouting) Validate(c *Checker, path string) {
	if !containsString(trafficRoutingMethods, t.Method) {
		c.Errorf(path+".method", enumHint(t.Method, trafficRoutingMethods), "unknown traffic routing method %q", t.Method)
		return
	}
	if t.Istio != nil && t.Method != TrafficRoutingIstio {
		c.Warnf(path+".istio", "set `method: istio` to use it", "istio settings are ignored by the %s method", t.Method)
	}
	if t.GatewayAPI != nil && t.Method != TrafficRoutingGatewayAPI {
		c.Warnf(path+".gatewayAPI", "set `method: gatewayapi` to use it", "gatewayAPI settings are ignored by the %s method", t.Method)
	}
}

// unknownFieldHint points the Gateway API settings at their own key.
func (*KubernetesTrafficRouting) unknownFieldHint(key string) string {
	switch strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(key)) {
	case "gatewayapi", "gateway", "httproute":
		return "Gateway API settings go under `gatewayAPI:` (e.g. `gatewayAPI: {httpRoute: web}`)"
	}
	return ""
}

// GatewayAPITrafficRouting configures traffic splitting with a Gateway API
// HTTPRoute of the manifests: K8S_TRAFFIC_ROUTING sets the weights of the
// backendRefs pointing at the primary Service and its -canary/-baseline
// variants (created by createService), other backends and rules untouched.
type GatewayAPITrafficRouting struct {
	// The HTTPRoute of the manifests; empty means the first one.
	HTTPRoute string `json:"httpRoute,omitempty"`
	// The primary Service the HTTPRoute's backendRefs name; empty means the
	// app's Service.
	Service string `json:"service,omitempty"`
}

// Validate implements validatable.
func (g *GatewayAPITrafficRouting) Validate(c *Checker, path string) {
	for _, f := range []struct{ name, v string }{{"httpRoute", g.HTTPRoute}, {"service", g.Service}} {
		if f.v != "" && (len(f.v) > 253 || !dnsSubdomainRe().MatchString(f.v)) {
			c.Errorf(path+"."+f.name, "a Kubernetes object name: lower-case letters, digits, '-' and '.'", "invalid %s name %q", f.name, f.v)
		}
	}
}

// unknownFieldHint explains near misses of the Gateway API settings.
func (*GatewayAPITrafficRouting) unknownFieldHint(key string) string {
	switch strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(key)) {
	case "httproute", "route", "routes", "httproutes":
		return "did you mean `httpRoute`? (one HTTPRoute of the manifests, by name)"
	case "namespace":
		return "the HTTPRoute is taken from the app's manifests, with their namespace; name it with `httpRoute`"
	case "backend", "backendref", "services":
		return "did you mean `service`? (the primary Service the backendRefs name)"
	}
	return ""
}

// IstioTrafficRouting configures traffic splitting with Istio.
type IstioTrafficRouting struct {
	// Routes of the VirtualService that may be changed; empty means all.
	EditableRoutes []string `json:"editableRoutes,omitempty"`
	// The service host the routes send traffic to.
	Host string `json:"host,omitempty"`
	// The VirtualService; empty means the first one of the manifests.
	VirtualService K8sResourceReference `json:"virtualService,omitempty"`
}

// K8sResourceReference names a resource of the manifests.
type K8sResourceReference struct {
	// The resource kind.
	Kind string `json:"kind,omitempty"`
	// The resource name.
	Name string `json:"name,omitempty"`
}

// KubernetesVariantLabel is the label that tells variants apart.
type KubernetesVariantLabel struct {
	// The label key.
	Key string `json:"key,omitempty" jsonschema:"default=pipecd.dev/variant"`
	// The value of the primary variant.
	PrimaryValue string `json:"primaryValue,omitempty" jsonschema:"default=primary"`
	// The value of the canary variant.
	CanaryValue string `json:"canaryValue,omitempty" jsonschema:"default=canary"`
	// The value of the baseline variant.
	BaselineValue string `json:"baselineValue,omitempty" jsonschema:"default=baseline"`
}

var (
	labelNameRe    = lazyre.New(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	dnsSubdomainRe = lazyre.New(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// validLabelKey reports whether s is a Kubernetes label key ([prefix/]name).
func validLabelKey(s string) bool {
	prefix, name, hasPrefix := strings.Cut(s, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	} else if prefix == "" || len(prefix) > 253 || !dnsSubdomainRe().MatchString(prefix) {
		return false
	}
	return len(name) <= 63 && labelNameRe().MatchString(name)
}

// validLabelValue reports whether s is a Kubernetes label value.
func validLabelValue(s string) bool {
	return s == "" || len(s) <= 63 && labelNameRe().MatchString(s)
}

// Validate implements validatable.
func (v *KubernetesVariantLabel) Validate(c *Checker, path string) {
	if !validLabelKey(v.Key) {
		c.Errorf(path+".key", "a label key is [prefix/]name, e.g. pipecd.dev/variant", "invalid label key %q", v.Key)
	}
	seen := map[string]string{}
	for _, f := range []struct{ name, v string }{{"primaryValue", v.PrimaryValue}, {"canaryValue", v.CanaryValue}, {"baselineValue", v.BaselineValue}} {
		switch {
		case f.v == "" || !validLabelValue(f.v):
			c.Errorf(path+"."+f.name, "letters, digits, '-', '_' and '.', at most 63 characters", "invalid label value %q", f.v)
		case seen[f.v] != "":
			c.Errorf(path+"."+f.name, "each variant needs its own value", "%s %q is the same as %s", f.name, f.v, seen[f.v])
		default:
			seen[f.v] = f.name
		}
	}
}

// KubernetesResourceRoute sends the matching resources to a platform provider.
type KubernetesResourceRoute struct {
	// The platform provider, by name or labels.
	Provider KubernetesProviderMatcher `json:"provider"`
	// Which resources the route takes; empty means all.
	Match *KubernetesResourceRouteMatcher `json:"match,omitempty"`
}

// KubernetesResourceRouteMatcher selects resources by kind and name.
type KubernetesResourceRouteMatcher struct {
	// The resource kind.
	Kind string `json:"kind,omitempty"`
	// The resource name.
	Name string `json:"name,omitempty"`
}

// KubernetesProviderMatcher selects platform providers by name or labels.
type KubernetesProviderMatcher struct {
	// The platform provider name in .pipe/config.yaml.
	Name string `json:"name,omitempty"`
	// Labels of the platform providers.
	Labels map[string]string `json:"labels,omitempty"`
}

// Validate implements validatable.
func (r *KubernetesResourceRoute) Validate(c *Checker, path string) {
	if r.Provider.Name == "" && len(r.Provider.Labels) == 0 {
		c.Errorf(path+".provider", "set the provider's `name` or `labels`", "the route names no platform provider")
	}
}
