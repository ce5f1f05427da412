package kubernetes

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var depReq = request{op: "apply", verb: "patch", key: Key{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
	gvr: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, host: "https://k8s:6443"}

func TestExplainConflict(t *testing.T) {
	err := apierrors.NewApplyConflict([]metav1.StatusCause{
		{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "kubectl-edit" using apps/v1`, Field: ".spec.replicas"},
		{Type: metav1.CauseTypeFieldManagerConflict, Message: `conflict with "hpa"`, Field: ".spec.template.spec.containers[name=\"app\"].image"},
	}, "Apply failed with 2 conflicts")
	e := explainError(depReq, err)
	if !errors.Is(e, ErrConflict) {
		t.Fatalf("not ErrConflict: %v", e)
	}
	msg := e.Error()
	for _, want := range []string{"apply Deployment shop/web", `.spec.replicas (manager "kubectl-edit")`, `(manager "hpa")`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	var pe *Error
	errors.As(e, &pe)
	if !strings.Contains(pe.Hint, "--force-conflicts") || len(pe.Conflicts) != 2 || pe.Conflicts[0].Manager != "kubectl-edit" {
		t.Errorf("hint %q, conflicts %+v", pe.Hint, pe.Conflicts)
	}
}

func TestExplainForbidden(t *testing.T) {
	err := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web",
		fmt.Errorf(`User "ci" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`))
	e := explainError(depReq, err)
	if !errors.Is(e, ErrForbidden) {
		t.Fatalf("not ErrForbidden: %v", e)
	}
	want := `apply Deployment shop/web: forbidden: user "ci" cannot patch deployments.apps in namespace "shop"`
	if e.Error() != want {
		t.Errorf("message\n got %q\nwant %q", e.Error(), want)
	}
}

func TestExplainInvalid(t *testing.T) {
	err := apierrors.NewBadRequest(`failed to create typed patch object (shop/web; apps/v1, Kind=Deployment): .spec.replicass: field not declared in schema`)
	e := explainError(depReq, err)
	if !errors.Is(e, ErrInvalid) || !strings.HasSuffix(e.Error(), "the apiserver rejected the manifest: .spec.replicass: field not declared in schema") {
		t.Errorf("got %v", e)
	}
}

func TestExplainNamespaceNotFound(t *testing.T) {
	err := apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "shop")
	e := explainError(depReq, err)
	var pe *Error
	if !errors.As(e, &pe) || pe.Reason != ReasonNotFound || !strings.Contains(pe.Msg, `namespace "shop" does not exist`) || !strings.Contains(pe.Hint, "autoCreateNamespace") {
		t.Errorf("got %#v", e)
	}
}

func TestTransient(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.OpError{Err: syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{refused, true},
		{fmt.Errorf("wrapped: %w", syscall.ECONNREFUSED), true},
		{apierrors.NewServerTimeout(schema.GroupResource{Resource: "pods"}, "get", 1), true},
		{apierrors.NewTooManyRequests("slow down", 1), true},
		{apierrors.NewServiceUnavailable("down"), true},
		{apierrors.NewBadRequest("no"), false},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "x", errors.New("no")), false},
		{errors.New("plain"), false},
	} {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if e := explainError(depReq, refused); !errors.Is(e, ErrUnreachable) {
		t.Errorf("connection refused is %v", e)
	}
}
