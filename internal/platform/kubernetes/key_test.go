package kubernetes

import "testing"

func TestSameObject(t *testing.T) {
	dep := Key{Group: "apps", Kind: "Deployment", Namespace: "default", Name: "web"}
	ns := Key{Kind: "Namespace", Namespace: "", Name: "web"}
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
