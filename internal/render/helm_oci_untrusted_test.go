package render

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

// TestOCIChartUntrustedUsesConfiguredCredentialsOnly: on a pull request's
// plan, the Docker credential file of the machine is never read, so its
// credentials never reach a registry the change names; chartRegistries
// still apply.
func TestOCIChartUntrustedUsesConfiguredCredentialsOnly(t *testing.T) {
	dockerDir := isolateDockerConfig(t)
	reg, _ := webRegistry(t, "reader", "s3cret")
	auth := base64.StdEncoding.EncodeToString([]byte("reader:s3cret"))
	writeFiles(t, dockerDir, map[string]string{"config.json": `{"auths":{"` + reg.Host + `":{"auth":"` + auth + `"}}}`})
	root := writeFiles(t, t.TempDir(), map[string]string{"app/.keep": ""})
	in := chartInput("oci://"+reg.Host+"/charts", "web", "0.1.0")
	var withAuth atomic.Int32
	client := &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Header.Get("Authorization") != "" {
			withAuth.Add(1)
		}
		return http.DefaultTransport.RoundTrip(req)
	})}

	// Trusted: the Docker credential file's credentials are used.
	mustRender(t, &Renderer{HTTP: client}, app(root, "app", in))
	if withAuth.Load() == 0 {
		t.Fatal("no request carried the Docker credential file's credentials")
	}

	withAuth.Store(0)
	err := renderErr(t, &Renderer{HTTP: client, Untrusted: true}, app(root, "app", in))
	wantErr(t, err, "OCI chart oci://"+reg.Host+"/charts/web:0.1.0: the registry refused access (Unauthorized) with no credentials ("+reg.Host+
		" is not in chartRegistries of .pipe/config.yaml, and a pull request's plan uses no other credentials)",
		"on a pull request's plan only the credentials of chartRegistries in .pipe/config.yaml are used (never the Docker credential file or credential helpers of this machine)")
	if n := withAuth.Load(); n != 0 {
		t.Errorf("%d requests carried credentials", n)
	}

	// A credential file that does not parse is not even read.
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantErr(t, renderErr(t, &Renderer{HTTP: client, Untrusted: true}, app(root, "app", in)), "the registry refused access (Unauthorized) with no credentials")

	regs, err := ChartRegistriesFromConfig([]config.ChartRegistry{{Type: "OCI", Address: reg.Host, Username: "reader", PasswordEnv: "REGISTRY_PASSWORD"}},
		func(k string) string { return map[string]string{"REGISTRY_PASSWORD": "s3cret"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	mustRender(t, &Renderer{HTTP: client, Untrusted: true, ChartRegistries: regs}, app(root, "app", in))
	wrong, _ := ChartRegistriesFromConfig([]config.ChartRegistry{{Type: "OCI", Address: reg.Host, Username: "reader", PasswordEnv: "P"}},
		func(string) string { return "wrong-pass" })
	wantErr(t, renderErr(t, &Renderer{HTTP: client, Untrusted: true, ChartRegistries: wrong}, app(root, "app", in)),
		"with the credentials of chartRegistries[0] in .pipe/config.yaml (username reader): on a pull request's plan only the credentials of chartRegistries")
}
