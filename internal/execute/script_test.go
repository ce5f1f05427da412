package execute

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/gitops-pipe/pipe/internal/state"
)

func scriptApp(t *testing.T, o *config.ScriptRunStageOptions) *config.App {
	app := pipelineApp(t, config.PipelineStage{Name: config.StageScriptRun, With: o}, k8s(config.StageK8sPrimaryRollout))
	app.Labels = map[string]string{"env": "prod", "team-name": "web"}
	return app
}

func outputOf(events []Event) string {
	var lines []string
	for _, ev := range events {
		if ev.Output {
			lines = append(lines, ev.Message)
		}
	}
	return strings.Join(lines, "\n")
}

func TestScriptRunEnvAndRedaction(t *testing.T) {
	app := scriptApp(t, &config.ScriptRunStageOptions{
		Run: `echo "id=$SR_DEPLOYMENT_ID app=$SR_APPLICATION_NAME commit=$SR_TRIGGERED_COMMIT_HASH rollback=$SR_IS_ROLLBACK env=$SR_LABELS_ENV team=$SR_LABELS_TEAM_NAME repo=$SR_REPOSITORY_URL"
echo "greeting=$GREETING token=$TOKEN"
echo "$SR_CONTEXT_RAW" >&2`,
		Env: map[string]string{"GREETING": "hello"},
	})
	d := newDeployment(app, planOf(app, false, nil))
	d.Script = ScriptEnv{Dir: t.TempDir(), Environ: []string{"PATH=/usr/bin:/bin", "TOKEN=hunter2-secret"},
		RepoURL: "https://example.com/acme/repo", Redact: redact.NewMasker("hunter2-secret")}
	store := &memStore{}
	e, events := newEngine(store, &fakePlatform{})
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	out := outputOf(*events)
	for _, want := range []string{
		"id=D1 app=web commit=" + strings.Repeat("a", 40) + " rollback=false env=prod team=web repo=https://example.com/acme/repo",
		"greeting=hello token=***",
		`"deploymentID":"D1"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("secret leaked:\n%s", out)
	}
	if store.current.Stages[0].Metadata["exitCode"] != "0" {
		t.Errorf("metadata %v", store.current.Stages[0].Metadata)
	}
}

const scriptPEM = `-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun
VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK
LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo
-----END RSA PRIVATE KEY-----`

// runScriptOutput runs script as a SCRIPT_RUN stage with the environment
// and masked secrets given, and returns its output events.
func runScriptOutput(t *testing.T, script string, environ []string, secrets ...string) []string {
	t.Helper()
	app := scriptApp(t, &config.ScriptRunStageOptions{Run: script})
	d := newDeployment(app, planOf(app, false, nil))
	d.Script = ScriptEnv{Dir: t.TempDir(), Environ: append([]string{"PATH=/usr/bin:/bin"}, environ...), Redact: redact.NewMasker(secrets...)}
	e, events := newEngine(&memStore{}, &fakePlatform{})
	if err := e.Run(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range *events {
		if ev.Output {
			out = append(out, ev.Message)
		}
	}
	return out
}

// A multi-line secret (a PEM key) was never masked: output was masked a
// line at a time against the whole value.
func TestScriptRunMasksAMultiLineSecret(t *testing.T) {
	out := strings.Join(runScriptOutput(t, `printf '%s\n' "$KEY"; printf '%s' "$KEY" | sed 's/^/    /'; echo; echo done`,
		[]string{"KEY=" + scriptPEM}, scriptPEM), "\n")
	for _, line := range strings.Split(scriptPEM, "\n") {
		if strings.Contains(out, line) {
			t.Errorf("line %q of the key is in the output:\n%s", line, out)
		}
	}
	if !strings.Contains(out, "done") || strings.Count(out, "***") < 10 {
		t.Errorf("output:\n%s", out)
	}
}

// The base64 forms of a secret were not masked.
func TestScriptRunMasksBase64OfASecret(t *testing.T) {
	secret := "hunter2-secret-value"
	out := strings.Join(runScriptOutput(t, `echo "$TOKEN" | base64; printf 'x-access-token:%s' "$TOKEN" | base64; printf '%s' "$TOKEN" | base64 | tr '+/' '-_'`,
		[]string{"TOKEN=" + secret}, secret), "\n")
	for _, enc := range []string{"aHVudGVyMi1zZWNyZXQtdmFsdWU", "aHVudGVyMi1zZWNyZXQtdmFsdWUK", "eC1hY2Nlc3MtdG9rZW46aHVudGVyMi1zZWNyZXQtdmFsdWU", "dGVyMi1zZWNyZXQtdmFsdW"} {
		if strings.Contains(out, enc) {
			t.Errorf("the base64 form %s is in the output:\n%s", enc, out)
		}
	}
	if strings.Count(out, "***") != 3 {
		t.Errorf("output:\n%s", out)
	}
}

// Output after a line over 1 MiB was dropped; now the line is passed on in
// pieces and what follows is kept.
func TestScriptRunKeepsOutputAfterALongLine(t *testing.T) {
	out := runScriptOutput(t, `head -c 2097152 /dev/zero | tr '\0' a; echo "$TOKEN"; echo after; echo "$TOKEN" >&2`,
		[]string{"TOKEN=tok-0123456789"}, "tok-0123456789")
	if len(out) < 3 {
		t.Fatalf("output %q", out)
	}
	for _, l := range out {
		if len(l) > outputPiece+16 {
			t.Errorf("an event of %d bytes", len(l))
		}
	}
	if long := strings.Join(out[:len(out)-2], ""); long != strings.Repeat("a", 2<<20)+"***" || out[len(out)-2] != "after" || out[len(out)-1] != "***" {
		t.Errorf("%d bytes in %d events, ending %q", len(long), len(out), out[len(out)-3:])
	}
}

func TestScriptRunFailureRunsOnRollback(t *testing.T) {
	app := scriptApp(t, &config.ScriptRunStageOptions{Run: "echo doing; exit 3", OnRollback: `echo "undo rollback=$SR_IS_ROLLBACK"`})
	d := newDeployment(app, planOf(app, true, nil))
	d.Script = ScriptEnv{Dir: t.TempDir(), Environ: []string{"PATH=/usr/bin:/bin"}}
	store := &memStore{}
	e, events := newEngine(store, &fakePlatform{})
	if err := e.Run(context.Background(), d); err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(store.current.Reason, "the script exited with code 3") {
		t.Errorf("reason %q", store.current.Reason)
	}
	if got := stageStatuses(store.current); got != "stage-0=FAILED stage-1=NOT_STARTED Rollback=SUCCEEDED ScriptRunRollback-stage-0=SUCCEEDED" {
		t.Errorf("stages %s", got)
	}
	if out := outputOf(*events); !strings.Contains(out, "undo rollback=true") {
		t.Errorf("onRollback output missing:\n%s", out)
	}
}

func TestScriptRunTimeoutKillsTheProcessGroup(t *testing.T) {
	app := scriptApp(t, &config.ScriptRunStageOptions{Run: "sleep 30 & sleep 30; echo never", Timeout: config.Duration(200 * time.Millisecond)})
	d := newDeployment(app, planOf(app, false, nil))
	d.Script = ScriptEnv{Dir: t.TempDir(), Environ: []string{"PATH=/usr/bin:/bin"}}
	store := &memStore{}
	e, _ := newEngine(store, &fakePlatform{})
	start := time.Now()
	if err := e.Run(context.Background(), d); err == nil {
		t.Fatal("no error")
	}
	if el := time.Since(start); el > 8*time.Second {
		t.Errorf("took %s", el)
	}
	if !strings.Contains(store.current.Reason, "the script timed out after 200ms (with.timeout)") {
		t.Errorf("reason %q", store.current.Reason)
	}
	if store.current.Status != state.StatusFailed {
		t.Errorf("status %s", store.current.Status)
	}
}
