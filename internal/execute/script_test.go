package execute

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
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
		RepoURL: "https://example.com/acme/repo", Redact: Redactor([]string{"hunter2-secret"})}
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
