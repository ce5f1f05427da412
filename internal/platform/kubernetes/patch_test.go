package kubernetes

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestApplyPatches(t *testing.T) {
	objs := parseObjs(t, variantDeployment, `
apiVersion: v1
kind: ConfigMap
metadata: {name: envoy-canary}
data:
  envoy.yaml: |
    listeners:
      - name: main
        weight: 1
    timeout: 5s
  settings.json: '{"a":1,"b":[1,2]}'
`)
	objs[0].SetName("web-canary")
	err := ApplyPatches(objs, "canary", []Patch{
		{Kind: "Deployment", Name: "web", Ops: []PatchOp{
			{Op: "yaml-replace", Path: "$.spec.template.spec.containers[0].image", Value: "web:debug"},
			{Op: "yaml-add", Path: "$.spec.template.metadata.annotations.'example.com/canary'", Value: `"true"`},
			{Op: "yaml-remove", Path: "$.spec.template.spec.volumes[2]"},
		}},
		{Kind: "ConfigMap", Name: "envoy", DocumentRoot: "$.data.'envoy.yaml'", Ops: []PatchOp{
			{Path: "$.listeners[0].weight", Value: "100"},
			{Op: "text-regex", Path: `timeout: \d+s`, Value: "timeout: 30s"},
		}},
		{Kind: "ConfigMap", Name: "envoy", DocumentRoot: `$.data["settings.json"]`, Ops: []PatchOp{
			{Op: "json-replace", Path: "$.b[1]", Value: "3"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := objs[0].Object
	if img, _ := getPath(d, mustPath(t, "$.spec.template.spec.containers[0].image")); img != "web:debug" {
		t.Errorf("image %v", img)
	}
	if a, _, _ := unstructured.NestedString(d, "spec", "template", "metadata", "annotations", "example.com/canary"); a != "true" {
		t.Errorf("annotation %q", a)
	}
	if vols, _, _ := unstructured.NestedSlice(d, "spec", "template", "spec", "volumes"); len(vols) != 2 {
		t.Errorf("%d volumes", len(vols))
	}
	data, _, _ := unstructured.NestedStringMap(objs[1].Object, "data")
	if e := data["envoy.yaml"]; !strings.Contains(e, "weight: 100") || !strings.Contains(e, "timeout: 30s") {
		t.Errorf("envoy.yaml:\n%s", e)
	}
	if s := data["settings.json"]; s != `{"a":1,"b":[1,3]}` {
		t.Errorf("settings.json %s", s)
	}
}

func TestApplyPatchesErrors(t *testing.T) {
	for _, c := range []struct {
		patch Patch
		want  string
	}{
		{Patch{Kind: "Deployment", Name: "nope"}, "no such manifest"},
		{Patch{Kind: "Deployment", Name: "web", Ops: []PatchOp{{Path: "$.spec.nope.x", Value: "1"}}}, `no field "nope"`},
		{Patch{Kind: "Deployment", Name: "web", Ops: []PatchOp{{Path: "$.spec.paused", Value: "true"}}}, "use yaml-add"},
		{Patch{Kind: "Deployment", Name: "web", Ops: []PatchOp{{Path: "spec", Value: "1"}}}, "must start with $"},
		{Patch{Kind: "Deployment", Name: "web", Ops: []PatchOp{{Op: "text-regex", Path: "x"}}}, "needs a documentRoot"},
	} {
		err := ApplyPatches(parseObjs(t, variantDeployment), "canary", []Patch{c.patch})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.patch, err, c.want)
		}
	}
}

func mustPath(t *testing.T, s string) []pathSeg {
	p, err := parsePath(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
