package render

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
)

// A chart repository's credentials (from the environment or a file) are
// not sent over plain http to another host than this machine: the
// repository's address comes from the repository's config.
func TestChartRepositoryCredentialsNotInClear(t *testing.T) {
	srv := newChartRepo(t, false, nil)
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	// charts.example.test resolves to the test server: the request would
	// succeed if it were sent.
	addr := strings.TrimPrefix(srv.URL, "http://")
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	_, port, _ := net.SplitHostPort(addr)
	remote := srv.repo(false)
	remote.URL = "http://charts.example.test:" + port + "/charts"
	err := renderErr(t, &Renderer{HTTP: client, ChartRepos: []ChartRepo{remote}}, app(root, "app", repoInput("web", "0.1.0")))
	wantErr(t, err, "chart repository example: refusing to send its credentials over plain http to charts.example.test:"+port, "https://")
	if n := srv.indexHits.Load(); n != 0 {
		t.Errorf("the index was fetched %d times", n)
	}
	// Without credentials, plain http is allowed (the server refuses).
	anon := remote
	anon.Username, anon.Password = "", ""
	err = renderErr(t, &Renderer{HTTP: client, ChartRepos: []ChartRepo{anon}}, app(root, "app", repoInput("web", "0.1.0")))
	wantErr(t, err, "401 Unauthorized")
	// To this machine: allowed, by name too.
	local := srv.repo(false)
	local.URL = "http://localhost:" + port + "/charts"
	mustRender(t, &Renderer{HTTP: srv.Client(), ChartRepos: []ChartRepo{local}}, app(root, "app", repoInput("web", "0.1.0")))
}
