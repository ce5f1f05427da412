package deploy

import (
	"path/filepath"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// dirOf is the application's directory in the working tree.
func dirOf(root string, app *config.App) string {
	if app.Dir == "" || app.Dir == "." {
		return root
	}
	return filepath.Join(root, app.Dir)
}

// redactor masks, in scripts' output, the secret values of the desired
// state (the platform's Facts) and of the environment variables whose
// names say they are secret (whole, line by line and base64-encoded), then
// the run's secrets (run, nil: none; read as each line is masked, so a
// value added while a script runs is masked from then on), then applies
// extra.
func redactor(secrets, environ []string, run *redact.Set, extra func(string) string) *redact.Masker {
	m := redact.NewMasker(secrets...)
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		uk := strings.ToUpper(k)
		for _, w := range []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE_KEY", "API_KEY"} {
			if strings.Contains(uk, w) {
				m.Add(v)
				break
			}
		}
	}
	if run != nil {
		m = m.Then(run.Mask)
	}
	return m.Then(extra)
}
