package cloudrun

import (
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
)

const canaryApp = `apiVersion: pipecd.dev/v1beta1
kind: CloudRunApp
spec:
  name: web
  pipeline:
    stages:
      - name: CLOUDRUN_PROMOTE
        with: {percent: 10}
      - name: CLOUDRUN_PROMOTE
        with: {percent: 100}
`

func serviceYAML(image, env string) string {
	return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: web
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/maxScale: '2'
    spec:
      containerConcurrency: 80
      containers:
        - image: ` + image + `
          ports:
            - containerPort: 8080
          env:
` + env
}

func mustManifest(t *testing.T, data string) *Manifest {
	t.Helper()
	m, err := parseManifest("web/service.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRevisionName(t *testing.T) {
	for _, tc := range []struct{ image, commit, want string }{
		{"gcr.io/pipecd/helloworld:v0.27.4", "dede7cdea5bbd3fdbcc4674bfcd2b2f9e0579603", "web-v0274-dede7cd"},
		{"gcr.io/p/hello", "abc", "web-latest-abc"},
		{"gcr.io/p/hello:V1_RC.2", "1234567890", "web-v1-rc2-1234567"},
		{"gcr.io/p/hello@sha256:0123456789abcdef0123", "1234567890", "web-0123456789ab-1234567"},
		{"gcr.io/p/hello:" + strings.Repeat("x", 80), "1234567890", "web-" + strings.Repeat("x", 51) + "-1234567"},
	} {
		m := mustManifest(t, serviceYAML(tc.image, ""))
		if got := revisionName(m, tc.commit); got != tc.want || len(got) > 63 {
			t.Errorf("%s: %q, want %q", tc.image, got, tc.want)
		}
	}
}

func TestPlannerRules(t *testing.T) {
	f := config.ParseFile("web/app.pipecd.yaml", []byte(canaryApp))
	if !f.Valid() {
		t.Fatal(f.Diags)
	}
	spec := f.Spec.(*config.CloudRunApplicationSpec)
	v1 := mustManifest(t, serviceYAML("gcr.io/p/web:v1", "            - {name: LOG_LEVEL, value: info}\n            - {name: DB_PASSWORD, value: hunter2-old}\n"))
	v2 := mustManifest(t, serviceYAML("gcr.io/p/web:v2", "            - {name: LOG_LEVEL, value: debug}\n            - {name: DB_PASSWORD, value: hunter2-new}\n"))
	in := func(head, running *Manifest) planInput {
		i := planInput{Input: plan.Input{App: plan.App{Name: "web"}, Head: plan.Commit{Hash: strings.Repeat("b", 40)}, Now: time.Unix(0, 0)},
			Spec: spec, Head: head, HeadHash: strings.Repeat("b", 40), Running: running, Compared: running, RunningHash: strings.Repeat("a", 40)}
		if running != nil {
			i.Input.Running = &plan.Commit{Hash: strings.Repeat("a", 40)}
			i.CompareCommit = i.Input.Running
		}
		return i
	}
	p, err := planCloudRun(in(v1, nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.Strategy != plan.StrategyQuickSync || p.Reason != "Quick sync to deploy image v1 and configure all traffic to it (it seems this is the first deployment)" || len(p.Changes) != 1 || p.Changes[0].Action != plan.ActionAdd {
		t.Errorf("first: %s %q %+v", p.Strategy, p.Reason, p.Changes)
	}
	p, _ = planCloudRun(in(v2, v1))
	if p.Rule != plan.RuleImageChange || p.Reason != "Sync with pipeline to update image from v1 to v2" || len(p.Stages) != 3 {
		t.Errorf("image: %s %q %d", p.Rule, p.Reason, len(p.Stages))
	}
	diff := p.Changes[0].Diff
	for _, want := range []string{"-          image: gcr.io/p/web:v1", "+          image: gcr.io/p/web:v2", "+              value: debug", "+              value: '*** (changed)'"} {
		if !strings.Contains(diff, want+"\n") {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "hunter2") || strings.Contains(string(p.Details), "hunter2") {
		t.Errorf("secret shown:\n%s", diff)
	}
	if !strings.Contains(string(p.Details), `"revision":"web-v2-bbbbbbb","runningRevision":"web-v1-aaaaaaa"`) {
		t.Errorf("details %s", p.Details)
	}
	p, _ = planCloudRun(in(v1, v1))
	if len(p.Changes) != 0 || p.Reason != "Sync with the specified pipeline" {
		t.Errorf("no change: %q %+v", p.Reason, p.Changes)
	}
}

func TestManifestErrors(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}\n", "`apiVersion: serving.knative.dev/v1` and `kind: Service` are required"},
		{strings.Replace(serviceYAML("gcr.io/p/web:v1", ""), "containerConcurrency", "concurrency", 1), "web/service.yaml:11:7: unknown field `concurrency`"},
		{"apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers: []\n", "`spec.template.spec.containers[0].image` is required"},
		{"a: 1\na: 2\n", `web/service.yaml:2: mapping key "a" already defined`},
		{strings.Replace(serviceYAML("gcr.io/p/web:v1", ""), "containerConcurrency", "ContainerConcurrency", 1), "web/service.yaml:11:7: unknown field `ContainerConcurrency` (did you mean `containerConcurrency`?"},
		{"apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n        -\n", "`spec.template.spec.containers[0].image` is required"},
	} {
		if _, err := parseManifest("web/service.yaml", []byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}
