package redact

import (
	"errors"
	"io/fs"
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://github.com/acme/app.git", "https://github.com/acme/app.git"},
		{"https://x-access-token:ghp_abc123@github.com/acme/app.git", "https://github.com/acme/app.git"},
		{"https://gitlab-ci-token:glcbt-64_xyz@gitlab.com/acme/app.git", "https://gitlab.com/acme/app.git"},
		{"https://ghp_abc123@github.com/acme/app.git", "https://github.com/acme/app.git"},
		{"http://user:p%40ss@127.0.0.1:8080/r.git", "http://127.0.0.1:8080/r.git"},
		// A token holding '/': url.Parse fails ("invalid port") or reads
		// the token as a host and a path.
		{"https://x-access-token:ab/cd@github.com/acme/app.git", "https://***@github.com/acme/app.git"},
		{"https://ab/cd@github.com/acme/app.git", "https://***@github.com/acme/app.git"},
		{"https://ab/cd:ef/gh@github.com/acme/app.git", "https://***@github.com/acme/app.git"},
		// '?', '#' and '%' in the user info.
		{"https://user:ab?cd/ef@github.com/r.git", "https://***@github.com/r.git"},
		{"https://user:ab?cd@github.com/r.git", "https://***@github.com/r.git"},
		{"https://abcd?ef@github.com/r.git", "https://***@github.com/r.git"},
		{"https://user:ab#cd@github.com/r.git", "https://***@github.com/r.git"},
		{"https://user:p%zz@github.com/r.git", "https://github.com/r.git"},
		{"https://user:p@ss@github.com/r.git", "https://github.com/r.git"},
		// Secret query and fragment parameters.
		{"https://h/x?token=abc&ref=main", "https://h/x?token=***&ref=main"},
		{"https://h/x?ref=main&access_token=abc#frag", "https://h/x?ref=main&access_token=***#frag"},
		{"https://acct.blob.core.windows.net/c/f?sv=2020&sig=AbC%2Fd&se=1", "https://acct.blob.core.windows.net/c/f?sv=2020&sig=***&se=1"},
		{"https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ff00", "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***"},
		{"https://h/cb#access_token=abc&state=1", "https://h/cb#access_token=***&state=1"},
		{"https://h/x?api-key=1&Password=2&private_token=3&q=up", "https://h/x?api-key=***&Password=***&private_token=***&q=up"},
		{"https://h/x?email=a@b.example", "https://h/x?email=a@b.example"},
		{"https://u:p@h/x?token=t", "https://h/x?token=***"},
		// Not URLs with a scheme: kept.
		{"git@github.com:acme/app.git", "git@github.com:acme/app.git"},
		{"/srv/git/app.git", "/srv/git/app.git"},
		{"", ""},
	} {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// No secret survives, whatever the URL looks like: the secret is put in
// the user info of URLs url.Parse accepts or rejects.
func TestURLNeverShowsUserInfo(t *testing.T) {
	for _, secret := range []string{"s3cr3t-t0ken", "ab/cd/ef-tok", "tok?en/x-1", "tok#en-12", "p%zzword-9", "tok@en-99x", "to:ken-1234"} {
		for _, form := range []string{"https://%s@h.example/r", "https://user:%s@h.example/r", "http://user:%s@h.example:8080/r?x=1",
			"https://user:%s@h.example", "https://%s@h.example?token=1"} {
			in := strings.Replace(form, "%s", secret, 1)
			got := URL(in)
			if strings.Contains(got, secret) || (len(secret) > 6 && strings.Contains(got, secret[:6])) {
				t.Errorf("URL(%q) = %q shows the secret", in, got)
			}
			if !strings.Contains(got, "h.example") {
				t.Errorf("URL(%q) = %q lost the host", in, got)
			}
		}
	}
}

// What url.URL.Redacted would print is a good URL still.
func TestURLOfAParsedURL(t *testing.T) {
	u := &url.URL{Scheme: "https", User: url.UserPassword("x", "a/b?c#d@e"), Host: "h", Path: "/r"}
	if got := URL(u.String()); got != "https://h/r" {
		t.Errorf("got %q", got)
	}
}

func TestURLsIn(t *testing.T) {
	in := `clone "https://x:tok/en@github.com/a/b": Get "https://u:pw@h/info/refs?service=git-upload-pack&token=zz" failed; see https://docs.example/x.`
	want := `clone "https://***@github.com/a/b": Get "https://h/info/refs?service=git-upload-pack&token=***" failed; see https://docs.example/x.`
	if got := URLsIn(in); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := URLsIn("no urls: a://"); got != "no urls: a://" {
		t.Errorf("got %q", got)
	}
}

func TestError(t *testing.T) {
	cause := &fs.PathError{Op: "open", Path: "https://u:secret-pw@h/x", Err: fs.ErrNotExist}
	err := Error(cause)
	if strings.Contains(err.Error(), "secret-pw") || !strings.Contains(err.Error(), "https://h/x") {
		t.Errorf("message %q", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("errors.Is lost the cause")
	}
	plain := errors.New("no url")
	if Error(plain) != plain || Error(nil) != nil {
		t.Error("an error without a URL is returned as it is")
	}
}

func TestCleartext(t *testing.T) {
	for in, want := range map[string]bool{
		"http://git.example.com/r.git":  true,
		"HTTP://git.example.com/r.git":  true,
		"http://10.0.0.1:3000/r.git":    true,
		"http://localhost.evil.com/r":   true,
		"http://127.0.0.1:3000/r.git":   false,
		"http://127.8.9.10/r.git":       false,
		"http://[::1]:8080/r.git":       false,
		"http://LocalHost:8080/r.git":   false,
		"http://localhost./r.git":       false,
		"https://git.example.com/r.git": false,
		"ssh://git@git.example.com/r":   false,
		"http://u:ab/cd@host/r":         true,
		"https://u:ab/cd@host/r":        false,
	} {
		if got := Cleartext(in); got != want {
			t.Errorf("Cleartext(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@api.example.com/v1/check?key=abc&x=1#frag": "https://api.example.com/v1/check?…",
		"http://127.0.0.1:8080/healthz":                             "http://127.0.0.1:8080/healthz",
		"https://tok/en@host/path?q=1":                              "https://***@host/path?…",
		"https://host/path#sig=abc":                                 "https://host/path",
	} {
		if got := Endpoint(in); got != want {
			t.Errorf("Endpoint(%q) = %q, want %q", in, got, want)
		}
	}
}
