package config

import "testing"

func TestKubernetesDefaults(t *testing.T) {
	doc := k8sAppDoc(`  pipeline:
    stages:
      - name: K8S_CANARY_ROLLOUT
      - name: K8S_BASELINE_ROLLOUT
      - name: K8S_TRAFFIC_ROUTING
        with:
          all: canary
      - name: K8S_PRIMARY_ROLLOUT
      - name: K8S_CANARY_CLEAN
      - name: K8S_BASELINE_CLEAN
      - name: K8S_SYNC
`)
	f, ds := checkAppDoc(t, doc, CheckContext{})
	assertClean(t, ds)
	s := f.Spec.(*KubernetesApplicationSpec)
	want := KubernetesVariantLabel{Key: "pipecd.dev/variant", PrimaryValue: "primary", CanaryValue: "canary", BaselineValue: "baseline"}
	if s.VariantLabel != want {
		t.Errorf("variantLabel = %+v, want %+v", s.VariantLabel, want)
	}
	if !s.Input.AutoRollback || s.Input.AutoCreateNamespace || s.TrafficRoutingMethod() != TrafficRoutingPodSelector {
		t.Errorf("input = %+v, method %s", s.Input, s.TrafficRoutingMethod())
	}
	st := s.Pipeline.Stages
	if o := st[0].With.(*K8sCanaryRolloutStageOptions); o.Replicas != (Replicas{Number: 1}) || o.Suffix != "canary" || o.CreateService {
		t.Errorf("canary = %+v", o)
	}
	if o := st[1].With.(*K8sBaselineRolloutStageOptions); o.Replicas != (Replicas{Number: 1}) || o.Suffix != "baseline" {
		t.Errorf("baseline = %+v", o)
	}
	if p, c, b := st[2].With.(*K8sTrafficRoutingStageOptions).Percentages(); p != 0 || c != 100 || b != 0 {
		t.Errorf("all: canary = %d/%d/%d", p, c, b)
	}
	if o := st[3].With.(*K8sPrimaryRolloutStageOptions); o.Suffix != "primary" || o.Prune {
		t.Errorf("primary = %+v", o)
	}
	if st[4].With != nil || st[5].With != nil {
		t.Error("clean stages take no options")
	}
}

func TestKubernetesTrafficRouting(t *testing.T) {
	routing := func(with, method string) string {
		doc := "  pipeline:\n    stages:\n      - name: K8S_TRAFFIC_ROUTING\n        with:\n" + with
		if method != "" {
			doc += "  trafficRouting:\n    method: " + method + "\n"
		}
		return k8sAppDoc(doc)
	}
	for _, ok := range []struct{ with, method string }{
		{"          primary: 90\n          canary: 10\n", "istio"},
		{"          primary: 80\n          canary: 10\n          baseline: \"10%\"\n", "smi"},
		{"          canary: 100\n", ""},
		{"          all: primary\n", "podselector"},
	} {
		_, ds := checkAppDoc(t, routing(ok.with, ok.method), CheckContext{})
		if len(ds) > 0 {
			t.Errorf("%q with %q: unexpected diagnostics:\n%s", ok.with, ok.method, ds.Error())
		}
	}
	runDiagCases(t, []diagCase{
		{
			name: "podselector cannot split",
			doc:  routing("          primary: 90\n          canary: 10\n", ""),
			path: "spec.pipeline.stages[0].with", marker: "with:",
			msg: "podselector cannot split traffic (primary=90, canary=10, baseline=0)", hint: "istio or gatewayapi",
		},
		{
			name: "podselector cannot route to baseline",
			doc:  routing("          all: baseline\n", "podselector"),
			path: "spec.pipeline.stages[0].with", marker: "with:",
			msg: "podselector cannot split traffic",
		},
		{
			name: "percentages must add up to 100",
			doc:  routing("          primary: 50\n          canary: 10\n", "istio"),
			path: "spec.pipeline.stages[0].with.canary", marker: "canary: 10",
			msg: "add up to 60, not 100 (primary + canary)",
		},
		{
			name: "percentage range",
			doc:  routing("          canary: 120\n", "istio"),
			path: "spec.pipeline.stages[0].with.canary", marker: "canary: 120",
			msg: "out of range",
		},
		{
			name: "all with percentages",
			doc:  routing("          all: canary\n          primary: 100\n", "istio"),
			path: "spec.pipeline.stages[0].with.primary", marker: "primary: 100",
			msg: "`all` and percentages are both set",
		},
		{
			name: "nothing said",
			doc:  routing("          {}\n", "istio"),
			path: "spec.pipeline.stages[0].with", marker: "with:",
			msg: "says nothing about where traffic goes",
		},
		{
			name: "unknown variant",
			doc:  routing("          all: canaryy\n", "istio"),
			path: "spec.pipeline.stages[0].with.all", marker: "canaryy",
			msg: "unknown variant", hint: `did you mean "canary"?`,
		},
		{
			name: "unknown method",
			doc:  routing("          all: canary\n", "linkerd"),
			path: "spec.trafficRouting.method", marker: "linkerd",
			msg: "unknown traffic routing method", hint: "podselector, istio, smi",
		},
	})
}

func TestKubernetesDiagnostics(t *testing.T) {
	canary := func(with string) string {
		return k8sAppDoc("  pipeline:\n    stages:\n      - name: K8S_CANARY_ROLLOUT\n        with:\n" + with)
	}
	runDiagCases(t, []diagCase{
		{
			name: "unknown canary option",
			doc:  canary("          replica: 2\n"),
			path: "spec.pipeline.stages[0].with.replica", marker: "replica:",
			msg: "unknown field `replica`", hint: "did you mean `replicas`?",
		},
		{
			name: "option beside the stage name",
			doc:  k8sAppDoc("  pipeline:\n    stages:\n      - name: K8S_CANARY_ROLLOUT\n        replicas: 2\n"),
			path: "spec.pipeline.stages[0].replicas", marker: "replicas:",
			msg: "unknown field `replicas`", hint: "stage options go under `with:`",
		},
		{
			name: "patch op",
			doc:  canary("          patches:\n            - target: {kind: ConfigMap, name: cfg}\n              ops:\n                - op: yaml-replac\n                  path: $.data.a\n"),
			path: "spec.pipeline.stages[0].with.patches[0].ops[0].op", marker: "yaml-replac",
			msg: "unknown patch operation", hint: `did you mean "yaml-replace"?`,
		},
		{
			name: "patch path",
			doc:  canary("          patches:\n            - target: {kind: ConfigMap, name: cfg}\n              ops:\n                - path: data.a\n"),
			path: "spec.pipeline.stages[0].with.patches[0].ops[0].path", marker: "data.a",
			msg: "must start with `$`",
		},
		{
			name: "patch target needs a name",
			doc:  canary("          patches:\n            - target: {kind: ConfigMap}\n"),
			path: "spec.pipeline.stages[0].with.patches[0].target.name", marker: "target:",
			msg: "missing required field `name`",
		},
		{
			name: "suffix",
			doc:  canary("          suffix: Canary_1\n"),
			path: "spec.pipeline.stages[0].with.suffix", marker: "suffix",
			msg: "invalid suffix",
		},
		{
			name: "input field at the top",
			doc:  k8sAppDoc("  manifests: [deployment.yaml]\n"),
			path: "spec.manifests", marker: "manifests",
			msg: "unknown field", hint: "goes under `input:`",
		},
		{
			name: "helm chart insecure",
			doc:  k8sAppDoc("  input:\n    helmChart:\n      repository: oci://ghcr.io/x\n      name: web\n      version: 1.0.0\n      insecure: true\n"),
			path: "spec.input.helmChart.insecure", marker: "insecure",
			msg: "unknown field", hint: "chartRepositories[].insecure in .pipe/config.yaml",
		},
		{
			name: "helm chart with two sources",
			doc:  k8sAppDoc("  input:\n    helmChart:\n      gitRemote: git@github.com:x/y.git\n      repository: oci://ghcr.io/x\n"),
			path: "spec.input.helmChart.repository", marker: "repository",
			msg: "both gitRemote and repository",
		},
		{
			name: "helm chart without source",
			doc:  k8sAppDoc("  input:\n    helmChart:\n      version: 1.0.0\n"),
			path: "spec.input.helmChart", marker: "helmChart",
			msg: "nowhere to get the chart from",
		},
		{
			name: "helm chart from git without ref",
			doc:  k8sAppDoc("  input:\n    helmChart:\n      gitRemote: git@github.com:x/y.git\n      path: charts/web\n"),
			path: "spec.input.helmChart.ref", marker: "helmChart",
			msg: "needs `ref`",
		},
		{
			name: "helm chart name without repository",
			doc:  k8sAppDoc("  input:\n    helmChart:\n      path: chart\n      name: mychart\n"),
			path: "spec.input.helmChart.name", marker: "mychart",
			msg: "not used with a local chart",
		},
		{
			name: "values file outside the app dir",
			doc:  k8sAppDoc("  input:\n    helmChart: {repository: oci://ghcr.io/x, name: web, version: 1.0.0}\n    helmOptions:\n      valueFiles: [../shared/values.yaml]\n"),
			path: "spec.input.helmOptions.valueFiles[0]", marker: "valueFiles",
			msg: "outside the application directory",
		},
		{
			name: "values file scheme",
			doc:  k8sAppDoc("  input:\n    helmChart: {repository: oci://ghcr.io/x, name: web, version: 1.0.0}\n    helmOptions:\n      valueFiles: [\"s3://bucket/values.yaml\"]\n"),
			path: "spec.input.helmOptions.valueFiles[0]", marker: "valueFiles",
			msg: `scheme "s3" is not allowed`,
		},
		{
			name: "namespace",
			doc:  k8sAppDoc("  input:\n    namespace: My_NS\n"),
			path: "spec.input.namespace", marker: "My_NS",
			msg: "invalid namespace",
		},
		{
			name: "tool version",
			doc:  k8sAppDoc("  input:\n    kubectlVersion: latest\n"),
			path: "spec.input.kubectlVersion", marker: "latest",
			msg: "invalid kubectlVersion",
		},
		{
			name: "variant label values collide",
			doc:  k8sAppDoc("  variantLabel:\n    canaryValue: primary\n"),
			path: "spec.variantLabel.canaryValue", marker: "canaryValue",
			msg: "the same as primaryValue",
		},
		{
			name: "variant label key",
			doc:  k8sAppDoc("  variantLabel:\n    key: \"pipecd.dev/\"\n"),
			path: "spec.variantLabel.key", marker: "key:",
			msg: "invalid label key",
		},
		{
			name: "resource route without provider",
			doc:  k8sAppDoc("  resourceRoutes:\n    - match: {kind: Ingress}\n      provider: {}\n"),
			path: "spec.resourceRoutes[0].provider", marker: "provider",
			msg: "names no platform provider",
		},
		{
			name: "service kind",
			doc:  k8sAppDoc("  service:\n    kind: Deployment\n    name: web\n"),
			path: "spec.service.kind", marker: "kind: Deployment",
			msg: "service kind must be Service",
		},
	})
}
