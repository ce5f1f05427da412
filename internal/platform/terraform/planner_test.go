package terraform

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
)

func terraformSpec(pipeline bool) *config.TerraformApplicationSpec {
	s := &config.TerraformApplicationSpec{}
	if pipeline {
		s.Pipeline = &config.DeploymentPipeline{Stages: []config.PipelineStage{
			{ID: "plan", Name: config.StageTerraformPlan, With: &config.TerraformPlanStageOptions{ExitOnNoChanges: true}},
			{Name: config.StageWaitApproval, With: &config.WaitApprovalStageOptions{MinApproverNum: 1}},
			{Name: config.StageTerraformApply, With: &config.TerraformApplyStageOptions{}},
		}}
	}
	return s
}

func TestPlannerRules(t *testing.T) {
	result := &Result{Binary: "terraform 1.11.4", Workspace: "default", Fingerprint: "sha256:f",
		Resources: []ResultResource{{Address: "terraform_data.a", Action: ActionCreate}}}
	always := terraformSpec(true)
	always.Planner.AlwaysUsePipeline = true
	matcher := terraformSpec(true)
	matcher.CommitMatcher.QuickSync = "^hotfix"
	for _, tc := range []struct {
		name     string
		spec     *config.TerraformApplicationSpec
		strategy plan.Strategy
		message  string
		want     plan.Strategy
		rule     plan.Rule
		stages   []config.StageName
	}{
		{"no pipeline", terraformSpec(false), "", "change", plan.StrategyQuickSync, plan.RuleNoPipeline, []config.StageName{config.StageTerraformSync}},
		{"pipeline", terraformSpec(true), "", "change", plan.StrategyPipeline, plan.RuleOtherChange,
			[]config.StageName{config.StageTerraformPlan, config.StageWaitApproval, config.StageTerraformApply}},
		{"always", always, "", "change", plan.StrategyPipeline, plan.RuleAlwaysUsePipeline, nil},
		{"commit matcher", matcher, "", "hotfix: dns", plan.StrategyQuickSync, plan.RuleCommitMatchQuickSync, nil},
		{"forced quick", terraformSpec(true), plan.StrategyQuickSync, "change", plan.StrategyQuickSync, plan.RuleForced, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planTerraform(planInput{
				Input:  plan.Input{App: plan.App{Name: "net", Kind: "TerraformApp"}, Strategy: tc.strategy, Head: plan.Commit{Hash: "abc", Subject: tc.message}, Now: time.Unix(0, 0), ConfigDigest: "sha256:c"},
				Spec:   tc.spec,
				Result: result,
			})
			if err != nil {
				t.Fatal(err)
			}
			if p.Strategy != tc.want || p.Rule != tc.rule {
				t.Errorf("strategy %s (%s), want %s (%s): %s", p.Strategy, p.Rule, tc.want, tc.rule, p.Reason)
			}
			if tc.stages != nil {
				var got []config.StageName
				for _, s := range p.Stages {
					got = append(got, s.Name)
				}
				if strings.Join(names(got), ",") != strings.Join(names(tc.stages), ",") {
					t.Errorf("stages %v, want %v", got, tc.stages)
				}
			}
			if p.AutoRollback {
				t.Error("autoRollback is off by default for Terraform")
			}
			if p.Source.Desired != "sha256:f" || p.Source.HeadCommit != "abc" {
				t.Errorf("fingerprint %+v", p.Source)
			}
		})
	}
	if _, err := planTerraform(planInput{Input: plan.Input{Strategy: plan.StrategyPipeline}, Spec: terraformSpec(false), Result: result}); err == nil {
		t.Error("forcing a pipeline without one must fail")
	}
}

func names(s []config.StageName) []string {
	out := make([]string, len(s))
	for i, n := range s {
		out[i] = string(n)
	}
	return out
}

func TestResultChangesAndCounts(t *testing.T) {
	r := &Result{
		Resources: []ResultResource{
			{Address: "module.net.terraform_data.a[0]", Action: ActionReplace, Reason: "replace_because_tainted"},
			{Address: "terraform_data.b", Action: ActionDelete},
			{Address: "terraform_data.c", Action: ActionCreate},
			{Address: "terraform_data.d", Action: ActionUpdate},
			{Address: "terraform_data.e", Action: ActionImport},
		},
		Outputs: []ResultOutput{{Name: "url", Action: ActionUpdate}, {Name: "token", Action: ActionCreate, Sensitive: true}},
		// Terraform trims the first line's indentation away in some
		// renderings: the splitter must not depend on it.
		Human: "# module.net.terraform_data.a[0] is tainted, so must be replaced\n-/+ resource \"terraform_data\" \"a\" {\n    }\n\n" +
			"  # terraform_data.b will be destroyed\n  - resource \"terraform_data\" \"b\" {\n    }\n\n" +
			"Plan: 2 to add, 1 to change, 2 to destroy.\n\nChanges to Outputs:\n  ~ url   = \"a\" -> \"b\"\n  + token = (sensitive value)\n",
	}
	c := countResources(r.Resources)
	if got := c.String(); got != "1 to import, 2 to add, 1 to change, 2 to destroy (1 replaced)" {
		t.Errorf("counts: %s", got)
	}
	if d := r.Destroys(); strings.Join(d, ",") != "module.net.terraform_data.a[0],terraform_data.b" {
		t.Errorf("destroys: %v", d)
	}
	changes := resultChanges(r)
	byKey := map[string]plan.Change{}
	for _, ch := range changes {
		byKey[ch.Key] = ch
	}
	if ch := byKey["module.net.terraform_data.a[0]"]; ch.Action != plan.ActionChange || !strings.Contains(ch.Note, "REPLACED") ||
		!strings.Contains(ch.Note, "tainted") || !strings.HasPrefix(ch.Diff, "  # module.net.terraform_data.a[0] is tainted") {
		t.Errorf("replace: %+v", ch)
	}
	if ch := byKey["terraform_data.b"]; ch.Action != plan.ActionDelete || ch.Note != "DESTROYED" || !strings.Contains(ch.Diff, "will be destroyed") || strings.Contains(ch.Diff, "Plan:") {
		t.Errorf("delete: %+v", ch)
	}
	if ch := byKey["output.url"]; ch.Action != plan.ActionChange || !strings.Contains(ch.Diff, `~ url   = "a" -> "b"`) {
		t.Errorf("output: %+v", ch)
	}
	if ch := byKey["output.token"]; ch.Note != "sensitive value" || !strings.Contains(ch.Diff, "(sensitive value)") {
		t.Errorf("sensitive output: %+v", ch)
	}
	if s := plan.Summarize(changes); s.Added != 3 || s.Changed != 3 || s.Deleted != 1 {
		t.Errorf("summary: %+v", s)
	}
}

// The plan of a replacement, a destruction and an update has terraform's
// counts, names what it destroys, says what it compared, and gives each
// resource its block of the rendering (internal/report's
// TestPlanCommentTerraformDestroys renders this plan).
func TestPlannerDestroys(t *testing.T) {
	result := &Result{
		Binary: "tofu 1.10.10", Workspace: "prod", Fingerprint: "sha256:abc",
		Resources: []ResultResource{
			{Address: "terraform_data.cache", Action: ActionReplace, Reason: "replace_because_cannot_update"},
			{Address: "terraform_data.old", Action: ActionDelete},
			{Address: "terraform_data.web", Action: ActionUpdate},
		},
		Human: "OpenTofu will perform the following actions:\n\n" +
			"  # terraform_data.cache must be replaced\n-/+ resource \"terraform_data\" \"cache\" {\n    }\n\n" +
			"  # terraform_data.old will be destroyed\n  - resource \"terraform_data\" \"old\" {\n    }\n\n" +
			"  # terraform_data.web will be updated in-place\n  ~ resource \"terraform_data\" \"web\" {\n      ~ input = \"a\" -> \"b\"\n    }\n\n" +
			"Plan: 1 to add, 1 to change, 2 to destroy.\n",
	}
	result.Counts = countResources(result.Resources)
	p, err := planTerraform(planInput{
		Input:  plan.Input{App: plan.App{Name: "infra", Kind: "TerraformApp"}, Head: plan.Commit{Hash: "abc", Subject: "change"}, Now: time.Unix(0, 0), ConfigDigest: "sha256:c"},
		Spec:   terraformSpec(false),
		Result: result,
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Counts != "1 to add, 1 to change, 2 to destroy (1 replaced)" {
		t.Errorf("counts: %s", p.Counts)
	}
	if !reflect.DeepEqual(p.Destroys, []string{"terraform_data.cache", "terraform_data.old"}) {
		t.Errorf("destroys: %q", p.Destroys)
	}
	if p.Compared != `workspace "prod"'s state with the head's configuration (tofu 1.10.10 plan)` {
		t.Errorf("compared: %s", p.Compared)
	}
	want := []plan.Change{
		{Key: "terraform_data.cache", Action: plan.ActionChange, Language: plan.LanguageHCL,
			Diff: "  # terraform_data.cache must be replaced\n-/+ resource \"terraform_data\" \"cache\" {\n    }\n",
			Note: "REPLACED: destroyed and created again (replace because cannot update)"},
		{Key: "terraform_data.old", Action: plan.ActionDelete, Language: plan.LanguageHCL,
			Diff: "  # terraform_data.old will be destroyed\n  - resource \"terraform_data\" \"old\" {\n    }\n", Note: "DESTROYED"},
		{Key: "terraform_data.web", Action: plan.ActionChange, Language: plan.LanguageHCL,
			Diff: "  # terraform_data.web will be updated in-place\n  ~ resource \"terraform_data\" \"web\" {\n      ~ input = \"a\" -> \"b\"\n    }\n"},
	}
	if !reflect.DeepEqual(p.Changes, want) {
		t.Errorf("changes\n got %#v\nwant %#v", p.Changes, want)
	}
	if p.Summary != (plan.Summary{Changed: 2, Deleted: 1}) {
		t.Errorf("summary: %+v", p.Summary)
	}
	var details Result
	if err := json.Unmarshal(p.Details, &details); err != nil || !reflect.DeepEqual(&details, result) {
		t.Errorf("details %s (%v), want the result", p.Details, err)
	}
}
