package report

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/ci"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/state"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test ./internal/report -update rewrites it); got:\n%s", name, clipForLog(got))
	}
}

func clipForLog(s string) string {
	if len(s) > 4000 {
		return s[:4000] + fmt.Sprintf("\n... (%d bytes)", len(s))
	}
	return s
}

var ghCtx = ci.Context{Provider: ci.GitHub, Repository: "acme/deploys", SHA: "2222222222222222222222222222222222222222",
	PullRequest: 7, RunURL: "https://github.com/acme/deploys/actions/runs/42", ServerURL: "https://github.com", APIURL: "https://api.github.com"}

func pipelinePlan(t *testing.T) *plan.Plan {
	t.Helper()
	data, err := os.ReadFile("testdata/plan_pipeline.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func quickPlan() *plan.Plan {
	return &plan.Plan{
		SchemaVersion: 1,
		App:           plan.App{Name: "api", Kind: "KubernetesApp", Dir: "apps/api", Labels: map[string]string{"env": "prod", "team": "core"}},
		Head:          plan.Commit{Hash: "2222222222222222222222222222222222222222", Subject: "api: more replicas"},
		Running:       &plan.Commit{Hash: "1111111111111111111111111111111111111111"},
		Strategy:      plan.StrategyQuickSync,
		Reason:        "Quick sync by applying all manifests because no workload was changed",
		Rule:          plan.RuleNoNewWorkloads,
		AutoRollback:  true,
		Stages: []plan.Stage{
			{ID: "K8sSync", Name: "K8S_SYNC", Desc: "Sync by applying all manifests", Predefined: true, Summary: "prune"},
			{ID: "Rollback", Name: "ROLLBACK", Index: -1, Predefined: true, Rollback: true},
		},
		Changes: []plan.Change{{
			Key: ":ConfigMap:default:api", Action: plan.ActionChange, Language: plan.LanguageDiff, Source: "apps/api/cm.yaml:1",
			Diff: "--- :ConfigMap:default:api (last deployed 1111111)\n+++ :ConfigMap:default:api (head 2222222)\n@@ -1,4 +1,4 @@\n apiVersion: v1\n data:\n-  a: \"1\"\n+  a: \"2\"\n kind: ConfigMap\n",
		}},
		Summary: plan.Summary{Changed: 1},
	}
}

func unchangedPlan() *plan.Plan {
	return &plan.Plan{
		SchemaVersion: 1,
		App:           plan.App{Name: "worker", Kind: "KubernetesApp", Dir: "apps/worker"},
		Head:          plan.Commit{Hash: "2222222222222222222222222222222222222222"},
		Running:       &plan.Commit{Hash: "1111111111111111111111111111111111111111"},
		Strategy:      plan.StrategyQuickSync,
		Reason:        "Quick sync because nothing has changed",
		Rule:          plan.RuleNoChange,
		Stages:        []plan.Stage{{ID: "K8sSync", Name: "K8S_SYNC", Predefined: true}},
		Changes:       []plan.Change{},
	}
}

func terraformPlan() *plan.Plan {
	return &plan.Plan{
		SchemaVersion: 1,
		App:           plan.App{Name: "infra", Kind: "TerraformApp", Dir: "infra", Labels: map[string]string{"env": "prod"}},
		Head:          plan.Commit{Hash: "2222222222222222222222222222222222222222"},
		Strategy:      plan.StrategyQuickSync,
		Reason:        "Quick sync by automatically applying any detected changes because no pipeline was configured",
		Stages:        []plan.Stage{{ID: "TerraformSync", Name: "TERRAFORM_SYNC", Predefined: true}},
		Changes: []plan.Change{{Key: "aws_s3_bucket.logs", Action: plan.ActionAdd, Language: plan.LanguageHCL,
			Diff: "  # aws_s3_bucket.logs will be created\n  + resource \"aws_s3_bucket\" \"logs\" {\n      + bucket = \"acme-logs\"\n    }\n"}},
		Summary: plan.Summary{Added: 1},
	}
}

// hugePlan has one object whose diff alone is over GitHub's comment limit
// and a few large ones, with a secret token in one diff.
func hugePlan(token string) *plan.Plan {
	p := quickPlan()
	p.App.Name = "big"
	p.Changes = nil
	diff := func(key string, lines int) string {
		var b strings.Builder
		fmt.Fprintf(&b, "--- %s (last deployed 1111111)\n+++ %s (head 2222222)\n@@ -0,0 +1,%d @@\n", key, key, lines)
		for i := range lines {
			fmt.Fprintf(&b, "+  key-%05d: value-%05d-with-some-padding\n", i, i)
		}
		return b.String()
	}
	p.Changes = append(p.Changes, plan.Change{Key: ":ConfigMap:default:huge", Action: plan.ActionAdd, Language: plan.LanguageDiff, Diff: diff(":ConfigMap:default:huge", 2000)})
	for i := range 3 {
		key := fmt.Sprintf(":ConfigMap:default:large-%d", i)
		d := diff(key, 500)
		if i == 1 && token != "" {
			d += "+  leaked: " + token + "\n"
		}
		p.Changes = append(p.Changes, plan.Change{Key: key, Action: plan.ActionAdd, Language: plan.LanguageDiff, Diff: d})
	}
	p.Summary = plan.Summarize(p.Changes)
	return p
}

func sampleRecord() *state.Record {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return &state.Record{
		SchemaVersion: 1, ID: "01J0000000000000000000000R", App: "web", Kind: "KubernetesApp",
		Target:   state.Commit{Hash: "2222222222222222222222222222222222222222"},
		Running:  &state.Commit{Hash: "1111111111111111111111111111111111111111"},
		Trigger:  state.Trigger{Kind: state.TriggerPush, CIRunURL: "https://github.com/acme/deploys/actions/runs/43"},
		Strategy: state.StrategyPipeline, StrategyReason: "Sync progressively because of updating image web from v1 to v2",
		Stages: []state.Stage{
			{ID: "stage-0", Name: "K8S_CANARY_ROLLOUT", Status: state.StageSucceeded, StartedAt: t0, EndedAt: t0.Add(12 * time.Second), Metadata: map[string]string{"objects": "3"}},
			{ID: "analysis", Name: "ANALYSIS", Status: state.StageFailed, StartedAt: t0.Add(12 * time.Second), EndedAt: t0.Add(5*time.Minute + 12*time.Second),
				Reason: "metrics check error-rate failed 2 times (limit 1)", Metadata: map[string]string{"verdict": "FAIL", "error-rate": "0.07 > 0.01"}},
			{ID: "Rollback", Name: "ROLLBACK", Status: state.StageSucceeded, StartedAt: t0.Add(5*time.Minute + 12*time.Second), EndedAt: t0.Add(5*time.Minute + 20*time.Second)},
		},
		Status: state.StatusFailed, Reason: "analysis failed; rolled back",
		CreatedAt: t0, StartedAt: t0, EndedAt: t0.Add(5*time.Minute + 20*time.Second), UpdatedAt: t0.Add(5*time.Minute + 20*time.Second),
	}
}

var (
	fenceRE   = regexp.MustCompile("(?m)^(`{3,})")
	detailsRE = regexp.MustCompile(`<details>|</details>`)
)

// checkBalanced fails when a body leaves a code fence or a <details> open.
// Inside a fence, text is literal: a </details> there closes nothing.
func checkBalanced(t *testing.T, name, body string) {
	t.Helper()
	open := ""
	depth := 0
	for _, line := range strings.Split(body, "\n") {
		if m := fenceRE.FindString(line); m != "" {
			switch {
			case open == "":
				open = m
				continue
			case m == open && strings.TrimSpace(line) == m:
				open = ""
				continue
			}
		}
		if open != "" {
			continue
		}
		for _, m := range detailsRE.FindAllString(line, -1) {
			if m == "<details>" {
				depth++
			} else {
				depth--
			}
			if depth < 0 {
				t.Errorf("%s: </details> without <details>", name)
				depth = 0
			}
		}
	}
	if open != "" {
		t.Errorf("%s: a code fence %s is left open", name, open)
	}
	if depth != 0 {
		t.Errorf("%s: %d <details> left open", name, depth)
	}
}
