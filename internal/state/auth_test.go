package state

import (
	"strings"
	"testing"
)

// A token holding '/' or '%' in the remote's URL made url.Parse fail, and
// the "invalid URL" error printed the URL, and url.Parse's own message
// part of the token (`invalid port ":ab/cd..."`).
func TestInvalidRemoteURLHidesTheToken(t *testing.T) {
	e := newEnv(t, 1)
	for _, tc := range []struct{ url, shown string }{
		{"https://x-access-token:ab/cd-s3cret@github.com/acme/app.git", "https://***@github.com/acme/app.git"},
		{"https://x-access-token:ab%zz-s3cret@github.com/acme/app.git", "https://github.com/acme/app.git"},
	} {
		s, _ := e.open(t, e.clone(t), newFakeClock(), func(o *Options) { o.RemoteURL = tc.url; o.Credentials = Credentials{} })
		_, err := s.History(bg, "web", 0)
		if err == nil {
			t.Fatalf("%s: no error", tc.url)
		}
		msg := err.Error() + " " + hintOf(err)
		for _, secret := range []string{"s3cret", "ab/cd", "ab%zz", ":ab"} {
			if strings.Contains(msg, secret) {
				t.Errorf("%q shows in the error: %s", secret, msg)
			}
		}
		if !strings.Contains(msg, "invalid URL "+tc.shown) || !strings.Contains(hintOf(err), "percent-encoded") {
			t.Errorf("error %q does not name the URL %s or say what to do", msg, tc.shown)
		}
	}
}

// Credentials in the remote's URL stay out of the errors of the transport.
func TestTransportErrorsHideTheURLsCredentials(t *testing.T) {
	e := newEnv(t, 1)
	url := strings.Replace(e.srv.RepoURL("missing.git"), "http://", "http://x-access-token:"+testToken+"@", 1)
	s, _ := e.open(t, e.clone(t), newFakeClock(), func(o *Options) { o.RemoteURL = url; o.Credentials = Credentials{} })
	_, err := s.History(bg, "web", 0)
	if err == nil {
		t.Fatal("no error for a missing repository")
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("the token shows in the error: %v", err)
	}
	if !strings.Contains(err.Error(), e.srv.RepoURL("missing.git")) {
		t.Errorf("the error does not name the remote: %v", err)
	}
}

// A token is never sent over plain http but to this machine.
func TestNoTokenOverPlainHTTP(t *testing.T) {
	e := newEnv(t, 1)
	token := Credentials{Username: "x-access-token", Token: testToken, TokenSource: "PIPE_GIT_TOKEN"}
	for _, tc := range []struct {
		url   string
		creds Credentials
		what  string
	}{
		{"http://git.example.invalid/acme/app.git", token, "the token from PIPE_GIT_TOKEN"},
		{"http://10.1.2.3:3000/acme/app.git", token, "the token from PIPE_GIT_TOKEN"},
		{"http://localhost.example.invalid/acme/app.git", token, "the token from PIPE_GIT_TOKEN"},
		{"http://x-access-token:" + testToken + "@git.example.invalid/acme/app.git", Credentials{}, "the credentials in the remote's URL"},
		{"http://" + testToken + "@git.example.invalid/acme/app.git", Credentials{}, "the credentials in the remote's URL"},
	} {
		s, _ := e.open(t, e.clone(t), newFakeClock(), func(o *Options) { o.RemoteURL = tc.url; o.Credentials = tc.creds })
		_, err := s.History(bg, "web", 0)
		if err == nil {
			t.Fatalf("%s: no error", tc.url)
		}
		msg := err.Error() + " " + hintOf(err)
		if !strings.Contains(msg, "refusing to send "+tc.what+" over plain http") || !strings.Contains(hintOf(err), "https://") {
			t.Errorf("%s: error %q does not say what is refused and to use https", tc.url, msg)
		}
		if strings.Contains(msg, testToken) {
			t.Errorf("the token shows in the error: %s", msg)
		}
	}
	// Loopback: allowed (the test servers), by address or by name.
	for _, url := range []string{e.url, strings.Replace(e.url, "127.0.0.1", "localhost", 1)} {
		s, _ := e.open(t, e.clone(t), newFakeClock(), func(o *Options) { o.RemoteURL = url; o.Credentials = token })
		if err := s.Begin(bg, newRecord("web", e.commits[0])); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
	// https is not plain http: the check lets it through (to fail on
	// connecting, which is not this test's matter).
	if _, err := token.AuthMethod("https://git.example.invalid/acme/app.git"); err != nil {
		t.Errorf("https refused: %v", err)
	}
}
