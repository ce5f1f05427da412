package drift_test

import (
	"testing"

	"github.com/gitops-pipe/pipe/internal/testenv/kube"
)

// The scenario tests run against one real control plane per test binary.
func TestMain(m *testing.M) { kube.Main(m) }
