// Package cloudrun runs the end-to-end scripts of CloudRunApp applications
// (testdata/script/cloudrun) against the local Cloud Run emulator
// (internal/testenv/runemu: the Admin API v1), started in the test process
// by each script's `runemu start`.
package cloudrun

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
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
			"runemu":    runemu.ScriptCmd(),
			"runget":    runget,
			"runupdate": runupdate,
			"envfile":   envfile,
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
	_, err := ts.Stdout().Write(call(ts, http.MethodGet, args[0], nil))
	ts.Check(err)
}

// call sends a request to PATH under the emulator's namespace and returns
// the body of its 200 answer.
func call(ts *testscript.TestScript, method, path string, body []byte) []byte {
	endpoint := strings.TrimSuffix(ts.Getenv("PIPE_CLOUDRUN_ENDPOINT"), "/")
	if endpoint == "" {
		ts.Fatalf("runemu start first")
	}
	url := endpoint + "/apis/serving.knative.dev/v1/namespaces/" + ts.Getenv("PIPE_CLOUDRUN_PROJECT") + "/" + path
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	ts.Check(err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	ts.Check(err)
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("%s %s: %s\n%s", method, path, resp.Status, out)
	}
	return out
}

// runupdate is the script command `runupdate NAME concurrency=N|env.KEY=VALUE...`:
// a change by hand of the live service through the API, as `gcloud run
// services update NAME --concurrency N --update-env-vars KEY=VALUE` makes
// it: the service read, its template changed (a new revision, named by
// Cloud Run), all traffic to the latest revision, the service replaced.
func runupdate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: runupdate NAME concurrency=N|env.KEY=VALUE...")
	}
	var svc map[string]any
	ts.Check(json.Unmarshal(call(ts, http.MethodGet, "services/"+args[0], nil), &svc))
	spec := svc["spec"].(map[string]any)
	tmpl := spec["template"].(map[string]any)
	if meta, ok := tmpl["metadata"].(map[string]any); ok {
		delete(meta, "name")
	}
	tspec := tmpl["spec"].(map[string]any)
	c := tspec["containers"].([]any)[0].(map[string]any)
	for _, a := range args[1:] {
		k, v, ok := strings.Cut(a, "=")
		switch {
		case !ok:
			ts.Fatalf("runupdate: %q is not FIELD=VALUE", a)
		case k == "concurrency":
			n, err := strconv.Atoi(v)
			ts.Check(err)
			tspec["containerConcurrency"] = n
		case strings.HasPrefix(k, "env."):
			name := strings.TrimPrefix(k, "env.")
			envs, _ := c["env"].([]any)
			found := false
			for _, e := range envs {
				if em := e.(map[string]any); em["name"] == name {
					em["value"], found = v, true
				}
			}
			if !found {
				c["env"] = append(envs, map[string]any{"name": name, "value": v})
			}
		default:
			ts.Fatalf("runupdate: unknown field %q", k)
		}
	}
	spec["traffic"] = []any{map[string]any{"latestRevision": true, "percent": 100}}
	delete(svc, "status")
	body, err := json.Marshal(svc)
	ts.Check(err)
	call(ts, http.MethodPut, "services/"+args[0], body)
}

// envfile is the script command `envfile VAR FILE`: it sets VAR to FILE's
// content without the trailing newline (e.g. a commit's short hash saved
// from git rev-parse, to name a revision in runemu set-traffic).
func envfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}
