package deploy

import (
	"testing"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// The run's secrets are masked in scripts' output, those added after the
// redactor was built (decrypted while the run goes on) included, before
// extra applies.
func TestRedactorRunSecrets(t *testing.T) {
	run := redact.NewSet()
	run.Add("decrypted-early")
	r := redactor([]string{"facts-secret"}, nil, run, func(s string) string { return s + "|" })
	var lines []string
	w := r.Lines(1024, func(l string) { lines = append(lines, l) })
	w.Write([]byte("facts-secret decrypted-early decrypted-late\n"))
	run.Add("decrypted-late")
	w.Write([]byte("again: decrypted-late {\"v\":\"pem\\nkey-line\"}\n"))
	w.Close()
	want := []string{"*** *** decrypted-late|", "again: *** {\"v\":\"pem\\nkey-line\"}|"}
	if len(lines) != 2 || lines[0] != want[0] || lines[1] != want[1] {
		t.Errorf("got %q, want %q", lines, want)
	}
	run.Add("pem\nkey-line")
	if got := r.Mask(`{"v":"pem\nkey-line"}`); got != `{"v":"***"}|` {
		t.Errorf("JSON form of a multi-line value: got %q", got)
	}
}
