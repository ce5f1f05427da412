package render

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// A registry is named by the application, which a pull request controls:
// what it answers is bounded in size, pages and time.
func TestOCIRegistryBounds(t *testing.T) {
	isolateDockerConfig(t)
	var pages atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.HasSuffix(r.URL.Path, "/tags/list"):
			// Pages without end.
			n := pages.Add(1)
			w.Header().Set("Link", fmt.Sprintf(`<%s?last=t%d>; rel="next"`, r.URL.Path, n))
			fmt.Fprintf(w, `{"name":"charts/endless","tags":["%d.0.0"]}`, n)
		case strings.Contains(r.URL.Path, "/charts/huge/manifests/"):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Write([]byte(`{"schemaVersion":2,"annotations":{"x":"`))
			chunk := []byte(strings.Repeat("a", 1<<20))
			for range 20 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			w.Write([]byte(`"}}`))
		case strings.Contains(r.URL.Path, "/charts/slow/"):
			select {
			case <-r.Context().Done():
			case <-time.After(30 * time.Second):
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	repo := "oci://" + host + "/charts"

	err := renderErr(t, &Renderer{HTTP: &http.Client{}}, app(root, "app", chartInput(repo, "endless", "~1")))
	wantErr(t, err, "the registry lists more than 100000 tags or 1000 pages of tags for "+host+"/charts/endless", "exact version")
	if n := pages.Load(); n != maxTagPages {
		t.Errorf("%d pages read", n)
	}

	err = renderErr(t, &Renderer{HTTP: &http.Client{}}, app(root, "app", chartInput(repo, "huge", "1.0.0")))
	wantErr(t, err, "OCI chart oci://"+host+"/charts/huge:1.0.0", "larger than the 16 MiB pipe reads from a registry")

	start := time.Now()
	err = renderErr(t, &Renderer{HTTP: &http.Client{Timeout: 300 * time.Millisecond}}, app(root, "app", chartInput(repo, "slow", "1.0.0")))
	wantErr(t, err, "OCI chart oci://"+host+"/charts/slow:1.0.0", "deadline exceeded")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the client's timeout was not applied: %s", d)
	}
}

// A tag list near maxTags long is larger than a manifest may be: listed
// online, it is kept and read back offline.
func TestOCILargeTagListOffline(t *testing.T) {
	isolateDockerConfig(t)
	tags := make([]string, 0, maxTags)
	for i := range maxTags - 1 {
		tags = append(tags, fmt.Sprintf("0.0.%d-rc.%s", i, strings.Repeat("x", 40)))
	}
	tags = append(tags[:maxTags/2], append([]string{"1.0.0"}, tags[maxTags/2:]...)...)
	page, err := json.Marshal(map[string]any{"name": "charts/many", "tags": tags})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) <= maxManifest {
		t.Fatalf("the tag list is %d bytes, not more than maxManifest", len(page))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case r.URL.Path == "/v2/charts/many/tags/list":
			w.Header().Set("Content-Type", "application/json")
			w.Write(page)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/charts/many")
	if err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	for _, r := range []*Renderer{{HTTP: &http.Client{}, CacheDir: cacheDir}, {CacheDir: cacheDir, Offline: true}} {
		s := &ociSession{r: r, ctx: context.Background(), cache: r.cache(), repo: repo}
		if got, err := s.resolveTag(""); err != nil || got != "1.0.0" {
			t.Errorf("offline %v: tag %q, %v; want 1.0.0", r.Offline, got, err)
		}
	}
}
