package kubernetes

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func parseObjs(t *testing.T, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

const (
	variantDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ns}
spec:
  replicas: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      volumes:
        - name: c
          configMap: {name: web-config}
        - name: s
          secret: {secretName: web-secret}
        - name: p
          projected: {sources: [{configMap: {name: web-config}}, {secret: {name: other}}]}
      containers:
        - name: web
          image: web:v2
          envFrom: [{configMapRef: {name: web-config}}, {secretRef: {name: web-secret}}]
          env:
            - name: A
              valueFrom: {configMapKeyRef: {name: web-config, key: a}}
            - name: B
              valueFrom: {secretKeyRef: {name: unrelated, key: b}}
`
	variantConfig  = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: ns}\ndata: {a: '1'}\n"
	variantSecret  = "apiVersion: v1\nkind: Secret\nmetadata: {name: web-secret, namespace: ns}\nstringData: {t: x}\n"
	variantService = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ns}
spec:
  type: NodePort
  clusterIP: 10.0.0.1
  selector: {app: web}
  ports: [{port: 80, nodePort: 30080}]
`
)

func TestVariantCanary(t *testing.T) {
	objs := parseObjs(t, variantDeployment, variantConfig, variantSecret, variantService)
	before := objs[0].DeepCopy()
	out, err := Variant(objs, VariantSpec{Suffix: "canary", LabelKey: LabelVariant, LabelValue: "canary", Replicas: 30, Percent: true, CreateService: true})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*unstructured.Unstructured{}
	for _, u := range out {
		byName[u.GetKind()+"/"+u.GetName()] = u
	}
	for _, want := range []string{"ConfigMap/web-config-canary", "Secret/web-secret-canary", "Deployment/web-canary", "Service/web-canary"} {
		if byName[want] == nil {
			t.Errorf("no %s in %v", want, variantKeys(byName))
		}
	}
	d := byName["Deployment/web-canary"]
	if r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); r != 2 { // 30% of 5 = 1.5, rounded up
		t.Errorf("replicas %d, want 2", r)
	}
	sel, _, _ := unstructured.NestedStringMap(d.Object, "spec", "selector", "matchLabels")
	labels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	if sel[LabelVariant] != "canary" || labels[LabelVariant] != "canary" || sel["app"] != "web" {
		t.Errorf("selector %v, labels %v", sel, labels)
	}
	y, _ := yaml.Marshal(d.Object)
	s := string(y)
	for _, want := range []string{"name: web-config-canary", "secretName: web-secret-canary", "name: web-secret-canary", "name: unrelated", "name: other"} {
		if !strings.Contains(s, want) {
			t.Errorf("canary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "name: web-config\n") || strings.Contains(s, "secretName: web-secret\n") {
		t.Errorf("a reference to the primary's config is left:\n%s", s)
	}
	svc := byName["Service/web-canary"]
	y, _ = yaml.Marshal(svc.Object)
	if s := string(y); strings.Contains(s, "clusterIP:") || strings.Contains(s, "nodePort") || !strings.Contains(s, "type: ClusterIP") || !strings.Contains(s, LabelVariant+": canary") {
		t.Errorf("service:\n%s", s)
	}
	if !equalObj(before, objs[0]) {
		t.Error("the manifests were modified")
	}
}

func TestVariantReplicas(t *testing.T) {
	objs := parseObjs(t, variantDeployment)
	for _, c := range []struct {
		n       int
		percent bool
		want    int64
	}{{1, false, 1}, {3, false, 3}, {10, true, 1}, {20, true, 1}, {21, true, 2}, {100, true, 5}, {0, true, 1}} {
		out, err := Variant(objs, VariantSpec{Suffix: "c", LabelKey: "k", LabelValue: "v", Replicas: c.n, Percent: c.percent})
		if err != nil {
			t.Fatal(err)
		}
		if r, _, _ := unstructured.NestedInt64(out[0].Object, "spec", "replicas"); r != c.want {
			t.Errorf("%d (percent %v): %d replicas, want %d", c.n, c.percent, r, c.want)
		}
	}
}

func TestVariantRefusesOtherWorkloadKinds(t *testing.T) {
	objs := parseObjs(t, variantDeployment)
	_, err := Variant(objs, VariantSpec{Suffix: "c", LabelKey: "k", LabelValue: "v", Replicas: 1, Workloads: []WorkloadRef{{Kind: "StatefulSet", Name: "db"}}})
	if err == nil || !strings.Contains(err.Error(), "only Deployment workloads") {
		t.Errorf("err = %v", err)
	}
	if _, err := Variant(parseObjs(t, variantConfig), VariantSpec{Suffix: "c", LabelKey: "k", LabelValue: "v"}); err == nil {
		t.Error("no error without workloads")
	}
}

func variantKeys(m map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func equalObj(a, b *unstructured.Unstructured) bool {
	x, _ := yaml.Marshal(a.Object)
	y, _ := yaml.Marshal(b.Object)
	return string(x) == string(y)
}
