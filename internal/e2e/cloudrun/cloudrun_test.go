// Package cloudrun runs the end-to-end scripts of CloudRunApp applications
// (testdata/script/cloudrun) against the local Cloud Run emulator
// (internal/testenv/runemu: the Admin API v1), started in the test process
// by each script's `runemu start`.
package cloudrun

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gitops-pipe/pipe/internal/cli"
	"github.com/gitops-pipe/pipe/internal/e2e/e2etest"
	"github.com/gitops-pipe/pipe/internal/testenv/runemu"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pipe": func() { os.Exit(cli.Main(cli.System())) },
	})
}

// TestCloudRunScripts runs testdata/script/cloudrun/*.txtar in a clean
// environment: no CI detection, no Google Cloud configuration of the
// machine (no project, no region, no Application Default Credentials).
func TestCloudRunScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "../../../testdata/script/cloudrun",
		Setup: func(e *testscript.Env) error {
			if err := e2etest.CleanEnv(e); err != nil {
				return err
			}
			for _, k := range []string{"PIPE_CLOUDRUN_ENDPOINT", "PIPE_CLOUDRUN_PROJECT", "GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT", "CLOUDSDK_RUN_REGION"} {
				e.Setenv(k, "")
			}
			// Application Default Credentials: none to find.
			e.Setenv("GOOGLE_APPLICATION_CREDENTIALS", e.WorkDir+"/no-gcloud-credentials.json")
			e.Setenv("CLOUDSDK_CONFIG", e.WorkDir+"/no-gcloud-config")
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"runemu": runemu.ScriptCmd(),
			"runget": runget,
		},
		Condition:           e2etest.Condition,
		RequireExplicitExec: true,
	})
}

// runget is the script command `runget PATH`: it prints the body of a GET
// of PATH (e.g. services/web, revisions/web-v1-abcdef0) under the
// emulator's namespace, as gcloud would read it (the labels, annotations
// and status `runemu service` does not print). It fails unless the answer
// is 200.
func runget(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: runget services/NAME|revisions/NAME")
	}
	endpoint := strings.TrimSuffix(ts.Getenv("PIPE_CLOUDRUN_ENDPOINT"), "/")
	if endpoint == "" {
		ts.Fatalf("runemu start first")
	}
	url := endpoint + "/apis/serving.knative.dev/v1/namespaces/" + ts.Getenv("PIPE_CLOUDRUN_PROJECT") + "/" + args[0]
	resp, err := http.Get(url)
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("GET %s: %s\n%s", args[0], resp.Status, body)
	}
	_, err = ts.Stdout().Write(body)
	ts.Check(err)
}
