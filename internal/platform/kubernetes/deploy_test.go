package kubernetes

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/render"
)

// Pre-flight dry-runs only when a stage that runs applies manifests.
func TestAppliesManifests(t *testing.T) {
	for _, tc := range []struct {
		stages []plan.Stage
		want   bool
	}{
		{[]plan.Stage{{Name: config.StageK8sSync}, {Name: plan.StageRollback, Rollback: true}}, true},
		{[]plan.Stage{{Name: config.StageWaitApproval}, {Name: config.StageScriptRun}}, false},
		{[]plan.Stage{{Name: config.StageWait}, {Name: config.StageK8sCanaryRollout}}, true},
		{[]plan.Stage{{Name: config.StageK8sPrimaryRollout, Skip: "skipOn"}, {Name: plan.StageRollback, Rollback: true}}, false},
		{[]plan.Stage{{Name: config.StageK8sCanaryClean}}, false},
	} {
		if got := appliesManifests(&plan.Plan{Stages: tc.stages}); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.stages, got, tc.want)
		}
	}
}

func TestSecretValues(t *testing.T) {
	objs := []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"},
			"data": map[string]any{"password": "aHVudGVyMg==", "empty": ""}, "stringData": map[string]any{"token": "tok-123456"}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}, "data": map[string]any{"k": "visible"}}},
		{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Secret", "metadata": map[string]any{"name": "x"}, "data": map[string]any{"k": "bm90IG1l"}}},
	}
	got := strings.Join(secretValues(objs), ",")
	if !strings.Contains(got, "hunter2") || !strings.Contains(got, "tok-123456") || strings.Contains(got, "visible") || strings.Contains(got, "not me") {
		t.Errorf("secret values %q", got)
	}
}

// An object's error names where the object was rendered from; every
// refused object of a joined error does.
func TestLocateNamesTheSource(t *testing.T) {
	svc := manifest.Key{Kind: "Service", Namespace: "shop", Name: "web"}
	cm := manifest.Key{Kind: "ConfigMap", Namespace: "shop", Name: "cfg"}
	m := &render.Manifests{Objects: []*render.Object{
		{Key: svc, Source: render.Source{File: "apps/web/service.yaml", Line: 7, Doc: 1, Item: -1}},
		{Key: cm, Source: render.Source{File: "apps/web/config.yaml", Line: 1, Item: -1}},
	}}
	d := &prepared{desired: m}
	err := d.locate(errors.Join(
		&Error{Key: svc, Reason: ReasonInvalid, Msg: "dry-run Service shop/web: spec.ports[0].port: Invalid value: 99999"},
		&Error{Key: cm, Reason: ReasonInvalid, Msg: "dry-run ConfigMap shop/cfg: data: too long"},
		fmt.Errorf("list: %w", &Error{Reason: ReasonUnreachable, Msg: "the apiserver did not answer"}),
	))
	for _, want := range []string{
		"spec.ports[0].port: Invalid value: 99999 (from apps/web/service.yaml:7 (document 2))",
		"data: too long (from apps/web/config.yaml:1 (document 1))",
		"the apiserver did not answer",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("the located error no longer matches ErrInvalid")
	}
}
