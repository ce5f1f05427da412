package config

import "testing"

func TestKubernetesTrafficRoutingGatewayAPI(t *testing.T) {
	gw := func(settings string) string {
		return k8sAppDoc("  pipeline:\n    stages:\n      - name: K8S_CANARY_ROLLOUT\n        with:\n          createService: true\n" +
			"      - name: K8S_TRAFFIC_ROUTING\n        with:\n          primary: 80\n          canary: 20\n" +
			"  trafficRouting:\n" + settings)
	}
	f, ds := checkAppDoc(t, gw("    method: gatewayapi\n    gatewayAPI:\n      httpRoute: web\n      service: web-svc\n"), CheckContext{})
	assertClean(t, ds)
	s := f.Spec.(*KubernetesApplicationSpec)
	if s.TrafficRoutingMethod() != TrafficRoutingGatewayAPI || *s.TrafficRouting.GatewayAPI != (GatewayAPITrafficRouting{HTTPRoute: "web", Service: "web-svc"}) {
		t.Errorf("trafficRouting = %+v", s.TrafficRouting)
	}
	_, ds = checkAppDoc(t, gw("    method: gatewayapi\n"), CheckContext{})
	assertClean(t, ds)

	runDiagCases(t, []diagCase{
		{
			name: "method near miss",
			doc:  gw("    method: gatewayap\n"),
			path: "spec.trafficRouting.method", marker: "gatewayap",
			msg: "unknown traffic routing method", hint: `did you mean "gatewayapi"?`,
		},
		{
			name: "invalid HTTPRoute name",
			doc:  gw("    method: gatewayapi\n    gatewayAPI:\n      httpRoute: Web_Route\n"),
			path: "spec.trafficRouting.gatewayAPI.httpRoute", marker: "Web_Route",
			msg: `invalid httpRoute name "Web_Route"`, hint: "lower-case",
		},
		{
			name: "invalid Service name",
			doc:  gw("    method: gatewayapi\n    gatewayAPI:\n      service: -web\n"),
			path: "spec.trafficRouting.gatewayAPI.service", marker: "-web",
			msg: `invalid service name "-web"`,
		},
		{
			name: "unknown field near miss",
			doc:  gw("    method: gatewayapi\n    gatewayAPI:\n      httproute: web\n"),
			path: "spec.trafficRouting.gatewayAPI.httproute", marker: "httproute:",
			msg: "unknown field `httproute`", hint: "did you mean `httpRoute`?",
		},
		{
			name: "namespace is not a setting",
			doc:  gw("    method: gatewayapi\n    gatewayAPI:\n      namespace: edge\n"),
			path: "spec.trafficRouting.gatewayAPI.namespace", marker: "namespace: edge",
			msg: "unknown field `namespace`", hint: "taken from the app's manifests",
		},
		{
			name: "settings under the wrong key",
			doc:  gw("    method: gatewayapi\n    gateway_api:\n      httpRoute: web\n"),
			path: "spec.trafficRouting.gateway_api", marker: "gateway_api:",
			msg: "unknown field `gateway_api`", hint: "go under `gatewayAPI:`",
		},
		{
			name: "settings of another method",
			doc:  gw("    method: istio\n    gatewayAPI:\n      httpRoute: web\n"),
			path: "spec.trafficRouting.gatewayAPI", marker: "gatewayAPI:", sev: SeverityWarning,
			msg: "gatewayAPI settings are ignored by the istio method", hint: "method: gatewayapi",
		},
	})
}
