package kube

import (
	"regexp"
	"strings"
	"testing"
)

func TestStagingReplace(t *testing.T) {
	for line, want := range map[string]string{
		"\tk8s.io/api => ./staging/src/k8s.io/api":                          "k8s.io/api",
		"replace k8s.io/client-go => ./staging/src/k8s.io/client-go":        "k8s.io/client-go",
		"\tk8s.io/kube-openapi v0.0.0-2026 => k8s.io/kube-openapi v0.0.0-1": "",
		"\tk8s.io/api v0.0.0": "",
	} {
		got := ""
		if m := stagingReplace.FindStringSubmatch(line); m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", line, got, want)
		}
	}
}

func TestNamespaceNameIsALabel(t *testing.T) {
	label := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	for _, name := range []string{"TestX", "TestA/b_c d", strings.Repeat("TestLong/", 20), "/", "Test--__--X"} {
		got := namespaceName(name)
		if len(got) > 63 || !label.MatchString(got) {
			t.Errorf("namespaceName(%q) = %q, not a DNS-1123 label", name, got)
		}
	}
}

func TestKWOKConfigHasStages(t *testing.T) {
	cfg := string(kwokStages())
	for _, stage := range []string{"node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete"} {
		if !strings.Contains(cfg, "name: "+stage+"\n") {
			t.Errorf("kwok config lacks stage %s", stage)
		}
	}
}
