package kubernetes

import "testing"

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
	} {
		got, err := ParseKey(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v (err %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestSameObject(t *testing.T) {
	dep := Key{"apps", "Deployment", "default", "web"}
	ns := Key{"", "Namespace", "", "web"}
	for _, tc := range []struct {
		ann  string
		k    Key
		want bool
	}{
		{"apps:Deployment:default:web", dep, true},
		{"apps/v1:Deployment:default:web", dep, true}, // PipeCD v0
		{"apps:deployment:default:web", dep, true},    // kinds compare case-insensitively, like pipedv1
		{"apps:Deployment:other:web", dep, false},
		{"apps:Deployment:default:web2", dep, false},
		{":Deployment:default:web", dep, false},
		{"", dep, false},
		{":Namespace::web", ns, true},
		{"v1:Namespace:default:web", ns, true}, // PipeCD v0 wrote "default" for cluster-scoped objects
		{"v1:Namespace:other:web", ns, false},
	} {
		if got := sameObject(tc.ann, tc.k); got != tc.want {
			t.Errorf("sameObject(%q, %v) = %v", tc.ann, tc.k, got)
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
