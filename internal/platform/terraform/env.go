package terraform

import (
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// cleanEnvMap turns NAME=value pairs into the map terraform-exec runs with,
// dropping the variables terraform-exec manages itself (TF_LOG, TF_INPUT,
// TF_WORKSPACE, TF_VAR_*, TF_CLI_ARGS*...; it refuses them).
func cleanEnvMap(env []string) map[string]string {
	m, _ := splitEnv(env)
	return m
}

// splitEnv returns the usable environment and the sorted names dropped.
func splitEnv(env []string) (map[string]string, []string) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		m[k] = v
	}
	dropped := tfexec.ProhibitedEnv(m)
	for _, k := range dropped {
		delete(m, k)
	}
	sort.Strings(dropped)
	return m, dropped
}

// tfexecSafeEnv is env without the variables terraform-exec manages, for
// the few commands pipe runs directly (`version`).
func tfexecSafeEnv(env []string) []string {
	m := cleanEnvMap(env)
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

var secretName = lazyre.New(`(?i)(token|secret|passw|pwd|credential|private|api_?key|access_?key|auth|session|cookie|signature|_key$)`)

// redactor replaces secret values by "***" in text pipe produces.
type redactor struct{ secrets []string }

func (r *redactor) add(v string) {
	v = strings.TrimSpace(v)
	if len(v) < 4 {
		return
	}
	for _, s := range r.secrets {
		if s == v {
			return
		}
	}
	r.secrets = append(r.secrets, v)
	// Longest first so that a secret containing another is replaced whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

func (r *redactor) apply(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}
