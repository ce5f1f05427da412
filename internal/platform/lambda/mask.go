package lambda

import (
	"maps"

	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// masker decides which environment values of a function plans and drift
// reports show: by default those whose name or value does not look like a
// credential (redact.SecretName, redact.SecretValue); with All, none.
type masker struct {
	All bool
}

// secret reports whether the value of variable name is masked (a value on
// either side that looks secret masks both).
func (m masker) secret(name string, values ...string) bool {
	return redact.SecretVar(m.All, name, values...)
}

// value renders one value for a report that shows one side.
func (m masker) value(name, v string) string {
	if m.secret(name, v) {
		return manifest.MaskSecret
	}
	return v
}

// docs returns copies of the two documents of a diff whose masked
// environment values say only whether they changed: "***" on the old side
// and where unchanged, "*** (changed)" on the new side where it differs.
func (m masker) docs(oldT, newT *Target, oldDoc, newDoc map[string]any) (map[string]any, map[string]any) {
	var oldEnv, newEnv map[string]string
	if oldT != nil {
		oldEnv = oldT.Config.Environment
	}
	if newT != nil {
		newEnv = newT.Config.Environment
	}
	mask := func(doc map[string]any, env map[string]string, other map[string]string, isNew bool) map[string]any {
		if doc == nil || env == nil {
			return doc
		}
		out := maps.Clone(doc)
		e := map[string]any{}
		for k, v := range env {
			ov, inOther := other[k]
			switch {
			case !m.secret(k, v, ov):
				e[k] = v
			case isNew && inOther && ov != v:
				e[k] = manifest.MaskSecretChanged
			default:
				e[k] = manifest.MaskSecret
			}
		}
		out["environments"] = e
		return out
	}
	return mask(oldDoc, oldEnv, newEnv, false), mask(newDoc, newEnv, oldEnv, true)
}
