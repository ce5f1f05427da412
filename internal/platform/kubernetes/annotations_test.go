package kubernetes

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestOwnership(t *testing.T) {
	app := App{ID: "app-1", CommitHash: "0123456789abcdef0123456789abcdef01234567"}
	k := Key{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "api"}
	labels, ann := app.ownership(k, "apps/v1")
	wantLabels := map[string]string{LabelManagedBy: "piped", LabelApplication: "app-1", LabelCommitHash: app.CommitHash}
	for k, v := range wantLabels {
		if labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, labels[k], v)
		}
	}
	if _, ok := labels[LabelPiped]; ok {
		t.Errorf("pipecd.dev/piped set without a piped ID")
	}
	wantAnn := map[string]string{
		LabelManagedBy: "piped", LabelApplication: "app-1", LabelCommitHash: app.CommitHash,
		LabelResourceKey: "apps:Deployment:web:api", LabelOriginalAPIVersion: "apps/v1", LabelVariant: "primary",
	}
	for k, v := range wantAnn {
		if ann[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, ann[k], v)
		}
	}
	if !app.owns(labels, ann) {
		t.Errorf("app does not own what it marked")
	}
	if (App{ID: "app-2"}).owns(labels, ann) {
		t.Errorf("another app owns it")
	}
	if got := app.Selector(); got != "pipecd.dev/managed-by=piped,pipecd.dev/application=app-1" {
		t.Errorf("selector %q", got)
	}
}

func TestOwnershipLongID(t *testing.T) {
	app := App{ID: "team/a very long application name that is not a label value at all, really"}
	labels, ann := app.ownership(Key{Kind: "ConfigMap", Namespace: "x", Name: "y"}, "v1")
	if errs := validation.IsValidLabelValue(labels[LabelApplication]); len(errs) > 0 {
		t.Errorf("label value %q invalid: %v", labels[LabelApplication], errs)
	}
	if ann[LabelApplication] != app.ID {
		t.Errorf("annotation must hold the exact ID")
	}
	if !strings.Contains(app.Selector(), labels[LabelApplication]) || !app.owns(labels, ann) {
		t.Errorf("selector/owns disagree with the labels")
	}
}
