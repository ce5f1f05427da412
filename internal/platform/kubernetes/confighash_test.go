package kubernetes

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

const hashWorkloads = `
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: ns}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: sec, namespace: ns}
type: Opaque
data: {pw: aHVudGVyMg==}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: other}
data: {a: "other namespace"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: vol, namespace: ns}
spec:
  template:
    spec:
      volumes:
      - name: c
        configMap: {name: cfg}
      containers: [{name: app, image: app}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: env, namespace: ns}
spec:
  template:
    metadata: {annotations: {keep: me}}
    spec:
      initContainers:
      - name: init
        image: init
        env:
        - name: PW
          valueFrom: {secretKeyRef: {name: sec, key: pw}}
      containers: [{name: app, image: app}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: envfrom, namespace: ns}
spec:
  template:
    spec:
      containers:
      - name: app
        image: app
        envFrom: [{configMapRef: {name: cfg}}, {secretRef: {name: sec}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cron, namespace: ns}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          volumes:
          - name: p
            projected:
              sources: [{secret: {name: sec}}]
          containers: [{name: app, image: app}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: job, namespace: ns}
spec:
  template:
    spec:
      volumes: [{name: c, configMap: {name: cfg}}]
      containers: [{name: app, image: app}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: unmanaged, namespace: ns}
spec:
  template:
    spec:
      volumes: [{name: c, configMap: {name: not-in-git}}]
      containers: [{name: app, image: app}]
`

func splitDocs(s string) []string {
	var out []string
	cur := ""
	for _, line := range splitLines(s) {
		if line == "---" {
			out = append(out, cur)
			cur = ""
			continue
		}
		cur += line + "\n"
	}
	return append(out, cur)
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func templateHash(u *unstructured.Unstructured) string {
	path := append(podTemplatePath(u.GroupVersionKind().Group, u.GetKind()), "metadata", "annotations", AnnotationConfigHash)
	if path[0] != "spec" {
		path = []string{"spec", "template", "metadata", "annotations", AnnotationConfigHash}
	}
	v, _, _ := unstructured.NestedString(u.Object, path...)
	return v
}

// pipecdHash is PipeCD's HashManifests, written against typed objects as
// PipeCD does, to check that pipe computes the same value.
func pipecdHash(t *testing.T, cfgs ...*unstructured.Unstructured) string {
	h := sha256.New()
	for _, u := range cfgs {
		var m map[string]any
		switch u.GetKind() {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cm); err != nil {
				t.Fatal(err)
			}
			m = map[string]any{"kind": "ConfigMap", "name": cm.Name, "data": cm.Data}
		case "Secret":
			var s corev1.Secret
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &s); err != nil {
				t.Fatal(err)
			}
			m = map[string]any{"kind": "Secret", "type": s.Type, "name": s.Name, "data": s.Data}
		}
		b, _ := json.Marshal(m)
		h.Write(b)
	}
	return encodeHash(fmt.Sprintf("%x", h.Sum(nil)))
}

func TestConfigHash(t *testing.T) {
	in := objs(t, splitDocs(hashWorkloads)...)
	if err := annotateConfigHash(in); err != nil {
		t.Fatal(err)
	}
	byName := map[string]*unstructured.Unstructured{}
	for _, u := range in {
		byName[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = u
	}
	cfg, sec := byName["ConfigMap/ns/cfg"], byName["Secret/ns/sec"]
	for name, want := range map[string]string{
		"Deployment/ns/vol":       pipecdHash(t, cfg),
		"StatefulSet/ns/env":      pipecdHash(t, sec),
		"DaemonSet/ns/envfrom":    pipecdHash(t, cfg, sec),
		"CronJob/ns/cron":         pipecdHash(t, sec),
		"Job/ns/job":              "", // immutable template
		"Deployment/ns/unmanaged": "",
	} {
		if got := templateHash(byName[name]); got != want {
			t.Errorf("%s: config hash %q, want %q", name, got, want)
		}
	}
	sts := byName["StatefulSet/ns/env"]
	if v, _, _ := unstructured.NestedString(sts.Object, "spec", "template", "metadata", "annotations", "keep"); v != "me" {
		t.Errorf("existing pod template annotation lost")
	}
	if len(templateHash(byName["Deployment/ns/vol"])) != 10 {
		t.Errorf("hash %q is not 10 characters", templateHash(byName["Deployment/ns/vol"]))
	}
}

func TestConfigHashChanges(t *testing.T) {
	hashOf := func(cmData, secretString string) string {
		docs := []string{
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: ns}\ndata: {a: \"" + cmData + "\"}\n",
			"apiVersion: v1\nkind: Secret\nmetadata: {name: sec, namespace: ns}\nstringData: {pw: \"" + secretString + "\"}\n",
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: ns}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app\n        envFrom: [{configMapRef: {name: cfg}}, {secretRef: {name: sec}}]\n",
		}
		in := objs(t, docs...)
		if err := annotateConfigHash(in); err != nil {
			t.Fatal(err)
		}
		return templateHash(in[2])
	}
	base := hashOf("1", "x")
	if base == "" || base != hashOf("1", "x") {
		t.Fatalf("hash not stable: %q", base)
	}
	if hashOf("2", "x") == base {
		t.Errorf("ConfigMap change does not change the hash")
	}
	if hashOf("1", "y") == base {
		t.Errorf("Secret stringData change does not change the hash")
	}
}
