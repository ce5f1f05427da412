package report

import (
	"slices"
	"strings"
)

// Redactor replaces secret values (API tokens, the values of configured
// secrets) in text that leaves pipe: comment bodies, job summaries,
// outputs. Plans already mask Secret data; this pass catches the rest.
type Redactor struct {
	secrets []string
}

// minSecret is the shortest value redacted: shorter ones would mangle
// ordinary text and are not credentials anyway.
const minSecret = 6

// NewRedactor returns a Redactor of the given values; empty and very short
// values are ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		r.Add(s)
	}
	return r
}

// Add adds a secret value.
func (r *Redactor) Add(s string) {
	s = strings.TrimSpace(s)
	if len(s) < minSecret || slices.Contains(r.secrets, s) {
		return
	}
	r.secrets = append(r.secrets, s)
	// Longer first, so that a secret containing another is replaced whole.
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

// Redact returns s with every secret replaced by "***".
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}

// RedactAll redacts each string.
func (r *Redactor) RedactAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = r.Redact(s)
	}
	return out
}
