package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// The GitHub and GitLab clients never carry their token to another host
// through a redirect.
func TestForgeClientRefusesCrossHostRedirects(t *testing.T) {
	var hit atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Store(true) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		target := other.URL + "/x"
		if r.URL.Path == "/local" {
			target = "/same"
		}
		http.Redirect(w, r, target, http.StatusFound)
	}))
	defer srv.Close()
	a := &app{secrets: redact.NewSet()}
	c := a.httpClient()
	resp, err := c.Get(srv.URL + "/local")
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("same-host redirect: %v %v", resp, err)
	}
	resp.Body.Close()
	_, err = c.Get(srv.URL + "/away")
	if err == nil || !strings.Contains(err.Error(), "the token would go along") || hit.Load() {
		t.Fatalf("cross-host redirect followed: %v (hit %v)", err, hit.Load())
	}
}
