package manifest

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Key
		err  bool
	}{
		{in: "apps:Deployment:web:api", want: Key{"apps", "Deployment", "web", "api"}},
		{in: ":Service:default:web", want: Key{"", "Service", "default", "web"}},
		{in: ":Namespace::web", want: Key{"", "Namespace", "", "web"}},
		{in: "apps/v1:Deployment:default:web", want: Key{"apps", "Deployment", "default", "web"}},
		{in: "v1:ConfigMap:default:cfg", want: Key{"", "ConfigMap", "default", "cfg"}},
		{in: "example.com/v1alpha1:Widget:ns:w", want: Key{"example.com", "Widget", "ns", "w"}},
		{in: "a:b:c", err: true},
		{in: "apps::ns:x", err: true},
		{in: "apps/v1:Deployment:default", err: true},
		{in: "a:b:c:d:e", err: true},
		{in: "::x:", err: true},
	} {
		got, err := ParseKey(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v (err %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestKeyRoundTrip(t *testing.T) {
	for _, s := range []string{"apps:Deployment:default:web", ":Service:default:web", ":Namespace::prod", "example.com:Widget:ns:w"} {
		k, err := ParseKey(s)
		if err != nil || k.String() != s {
			t.Errorf("ParseKey(%q) = %v, %v", s, k, err)
		}
	}
}

func TestReadable(t *testing.T) {
	for k, want := range map[Key]string{
		{"apps", "Deployment", "web", "api"}:       "Deployment web/api",
		{"", "Namespace", "", "web"}:               "Namespace web",
		{"example.com", "Widget", "shop", "w1"}:    "Widget.example.com shop/w1",
		{"networking.k8s.io", "Ingress", "a", "b"}: "Ingress a/b",
	} {
		if got := k.Readable(); got != want {
			t.Errorf("%v.Readable() = %q, want %q", k, got, want)
		}
	}
}

func TestKeyOf(t *testing.T) {
	for _, tc := range []struct {
		obj  map[string]any
		want string
	}{
		{map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "shop"}}, "apps:Deployment:shop:web"},
		// The namespace field as is: empty when the object names none.
		{map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web"}}, ":Service::web"},
		{map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w", "namespace": "ns"}}, "example.com:Widget:ns:w"},
	} {
		k := KeyOf(&unstructured.Unstructured{Object: tc.obj})
		if k.String() != tc.want {
			t.Errorf("KeyOf(%v) = %s, want %s", tc.obj, k, tc.want)
		}
		if k.GroupKind().Kind != k.Kind || k.GroupKind().Group != k.Group {
			t.Errorf("GroupKind of %s: %v", k, k.GroupKind())
		}
	}
}
