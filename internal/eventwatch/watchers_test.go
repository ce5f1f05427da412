package eventwatch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
)

func writeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCollect(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"apps/web/app.pipecd.yaml": `apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: web
  eventWatcher:
    - matcher:
        name: web-image
        labels: {env: prod}
      handler:
        type: GIT_UPDATE
        config:
          makePullRequest: true
          commitMessage: "deploy {{ .Value }}"
          replacements:
            - file: deployment.yaml
              yamlField: $.spec.template.spec.containers[0].image
`,
		"apps/web/deployment.yaml": "kind: Deployment\n",
		".pipe/events.yaml": `apiVersion: pipecd.dev/v1beta1
kind: EventWatcher
spec:
  events:
    - name: chart
      replacements:
        - file: apps/web/app.pipecd.yaml
          regex: "version: (.*)"
`,
	})
	repo, err := config.LoadRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := Collect(repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 {
		t.Fatalf("%d watchers: %+v", len(ws), ws)
	}
	w := ws[0]
	if !strings.HasPrefix(w.ID, "app web: web-image (env=prod) #") || len(w.ID) != len("app web: web-image (env=prod) #")+8 || w.App != "web" || !w.MakePullRequest || w.Labels["env"] != "prod" ||
		w.Source != "apps/web/app.pipecd.yaml:6" || w.CommitMessage != "deploy {{ .Value }}" {
		t.Fatalf("app watcher %+v", w)
	}
	if r := w.Replacements[0]; r.File != "apps/web/deployment.yaml" || r.Field != "yamlField" || r.Source != "apps/web/app.pipecd.yaml:15" {
		t.Fatalf("replacement %+v", r)
	}
	if w := ws[1]; !strings.HasPrefix(w.ID, ".pipe: chart #") || w.Replacements[0].File != "apps/web/app.pipecd.yaml" || w.Replacements[0].Field != "regex" {
		t.Fatalf(".pipe watcher %+v", w)
	}
}

func TestCollectRefusesEscapingFiles(t *testing.T) {
	root := writeRepo(t, map[string]string{
		"apps/web/app.pipecd.yaml": `apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: web
  eventWatcher:
    - matcher: {name: x}
      handler:
        type: GIT_UPDATE
        config:
          replacements:
            - file: ../../../etc/passwd
              regex: "(root)"
`,
	})
	repo, err := config.LoadRepo(root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Collect(repo)
	if err == nil || !strings.Contains(err.Error(), "is not a file inside the repository") || !strings.Contains(err.Error(), "app.pipecd.yaml:11") {
		t.Fatalf("err = %v", err)
	}
}

func TestCommitMessageAndBranch(t *testing.T) {
	w := &Watcher{Name: "Web Image/prod", Source: "a.yaml:3", CommitMessage: "{{ .EventName }}: {{ .Value }} ({{ .Labels.env }})", Labels: map[string]string{"env": "prod"}}
	ev := &state.RegisteredEvent{Name: "Web Image/prod", Value: "v1", Labels: map[string]string{"env": "prod"}, Contexts: map[string]string{"B": "2", "A": "1\nx"}}
	msg, err := commitMessage(w, ev)
	if err != nil || msg != "Web Image/prod: v1 (prod)\n\nA: 1 x\nB: 2\n" {
		t.Fatalf("msg %q %v", msg, err)
	}
	w.CommitMessage = "{{ .Contexts.missing }}"
	if _, err := commitMessage(w, ev); err == nil || !strings.Contains(err.Error(), "a.yaml:3: commitMessage") {
		t.Fatalf("missing key: %v", err)
	}
	if b := prBranch(w); !strings.HasPrefix(b, "pipe-event/web-image-prod-") || len(b) != len("pipe-event/web-image-prod-")+10 {
		t.Fatalf("branch %q", b)
	}
}
