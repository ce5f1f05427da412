package report

import (
	"encoding/base64"
	"strings"
	"testing"
)

// What leaves pipe is masked like scripts' output: a multi-line value line
// by line, base64 forms, and the credentials of URLs in error texts.
func TestRedactorMultiLineBase64AndURLs(t *testing.T) {
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"
	r := NewRedactor(key, "ghs_0123456789abcdef")
	var zero Redactor
	zero.Add("ghs_0123456789abcdef")
	for _, red := range []*Redactor{r, &zero} {
		if got := red.Redact("token ghs_0123456789abcdef"); got != "token ***" {
			t.Errorf("got %q", got)
		}
	}
	body := strings.Join([]string{
		"```", strings.ReplaceAll(key, "\n", "\n  "), "```",
		"auth: " + base64.StdEncoding.EncodeToString([]byte("x-access-token:ghs_0123456789abcdef")),
		`clone "https://x-access-token:ab/cd@github.com/acme/charts.git": 404`,
	}, "\n")
	got := r.Redact(body)
	for _, leak := range []string{"b3BlbnNzaC1rZXkt", "PRIVATE KEY", "Z2hzXzAxMjM0NTY3ODlhYmNkZWY", "ab/cd"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q is in\n%s", leak, got)
		}
	}
	if !strings.Contains(got, `clone "https://***@github.com/acme/charts.git": 404`) {
		t.Errorf("the URL is not redacted as expected:\n%s", got)
	}
}
