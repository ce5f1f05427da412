package report

import (
	"strings"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// Redactor replaces secret values (API tokens, the values of configured
// secrets) in text that leaves pipe: comment bodies, job summaries,
// outputs. Plans already mask Secret data; this pass catches the rest: each
// value whole, line by line when it has several, and base64-encoded (see
// redact.Masker), and the credentials of every URL in the text
// (redact.URL).
type Redactor struct {
	m *redact.Masker
}

// minSecret is the shortest value redacted: shorter ones would mangle
// ordinary text and are not credentials anyway.
const minSecret = 6

// NewRedactor returns a Redactor of the given values; empty and very short
// values are ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{m: redact.NewMasker()}
	for _, s := range secrets {
		r.Add(s)
	}
	return r
}

// Add adds a secret value.
func (r *Redactor) Add(s string) {
	if len(strings.TrimSpace(s)) < minSecret {
		return
	}
	if r.m == nil {
		r.m = redact.NewMasker()
	}
	r.m.Add(s)
}

// Redact returns s with every secret replaced by "***".
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	return r.m.Mask(redact.URLsIn(s))
}

// RedactAll redacts each string.
func (r *Redactor) RedactAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = r.Redact(s)
	}
	return out
}
