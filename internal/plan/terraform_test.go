package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
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

func TestPlanTerraformRules(t *testing.T) {
	result := &TerraformResult{Binary: "terraform 1.11.4", Workspace: "default", Fingerprint: "sha256:f",
		Resources: []TerraformResource{{Address: "terraform_data.a", Action: TerraformCreate}}}
	always := terraformSpec(true)
	always.Planner.AlwaysUsePipeline = true
	matcher := terraformSpec(true)
	matcher.CommitMatcher.QuickSync = "^hotfix"
	for _, tc := range []struct {
		name     string
		spec     *config.TerraformApplicationSpec
		strategy Strategy
		message  string
		want     Strategy
		rule     Rule
		stages   []config.StageName
	}{
		{"no pipeline", terraformSpec(false), "", "change", StrategyQuickSync, RuleNoPipeline, []config.StageName{config.StageTerraformSync}},
		{"pipeline", terraformSpec(true), "", "change", StrategyPipeline, RuleOtherChange,
			[]config.StageName{config.StageTerraformPlan, config.StageWaitApproval, config.StageTerraformApply}},
		{"always", always, "", "change", StrategyPipeline, RuleAlwaysUsePipeline, nil},
		{"commit matcher", matcher, "", "hotfix: dns", StrategyQuickSync, RuleCommitMatchQuickSync, nil},
		{"forced quick", terraformSpec(true), StrategyQuickSync, "change", StrategyQuickSync, RuleForced, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanTerraform(TerraformInput{App: App{Name: "net", Kind: "TerraformApp"}, Spec: tc.spec, Strategy: tc.strategy,
				Head: Commit{Hash: "abc", Subject: tc.message}, Result: result, Now: time.Unix(0, 0), ConfigDigest: "sha256:c"})
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
	if _, err := PlanTerraform(TerraformInput{Spec: terraformSpec(false), Strategy: StrategyPipeline, Result: result}); err == nil {
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

func TestTerraformChangesAndCounts(t *testing.T) {
	r := &TerraformResult{
		Resources: []TerraformResource{
			{Address: "module.net.terraform_data.a[0]", Action: TerraformReplace, Reason: "replace_because_tainted"},
			{Address: "terraform_data.b", Action: TerraformDelete},
			{Address: "terraform_data.c", Action: TerraformCreate},
			{Address: "terraform_data.d", Action: TerraformUpdate},
			{Address: "terraform_data.e", Action: TerraformImport},
		},
		Outputs: []TerraformOutput{{Name: "url", Action: TerraformUpdate}, {Name: "token", Action: TerraformCreate, Sensitive: true}},
		// Terraform trims the first line's indentation away in some
		// renderings: the splitter must not depend on it.
		Human: "# module.net.terraform_data.a[0] is tainted, so must be replaced\n-/+ resource \"terraform_data\" \"a\" {\n    }\n\n" +
			"  # terraform_data.b will be destroyed\n  - resource \"terraform_data\" \"b\" {\n    }\n\n" +
			"Plan: 2 to add, 1 to change, 2 to destroy.\n\nChanges to Outputs:\n  ~ url   = \"a\" -> \"b\"\n  + token = (sensitive value)\n",
	}
	c := CountTerraform(r.Resources)
	if got := c.String(); got != "1 to import, 2 to add, 1 to change, 2 to destroy (1 replaced)" {
		t.Errorf("counts: %s", got)
	}
	if d := r.Destroys(); strings.Join(d, ",") != "module.net.terraform_data.a[0],terraform_data.b" {
		t.Errorf("destroys: %v", d)
	}
	changes := TerraformChanges(r)
	byKey := map[string]Change{}
	for _, ch := range changes {
		byKey[ch.Key] = ch
	}
	if ch := byKey["module.net.terraform_data.a[0]"]; ch.Action != ActionChange || !strings.Contains(ch.Note, "REPLACED") ||
		!strings.Contains(ch.Note, "tainted") || !strings.HasPrefix(ch.Diff, "  # module.net.terraform_data.a[0] is tainted") {
		t.Errorf("replace: %+v", ch)
	}
	if ch := byKey["terraform_data.b"]; ch.Action != ActionDelete || ch.Note != "DESTROYED" || !strings.Contains(ch.Diff, "will be destroyed") || strings.Contains(ch.Diff, "Plan:") {
		t.Errorf("delete: %+v", ch)
	}
	if ch := byKey["output.url"]; ch.Action != ActionChange || !strings.Contains(ch.Diff, `~ url   = "a" -> "b"`) {
		t.Errorf("output: %+v", ch)
	}
	if ch := byKey["output.token"]; ch.Note != "sensitive value" || !strings.Contains(ch.Diff, "(sensitive value)") {
		t.Errorf("sensitive output: %+v", ch)
	}
	if s := Summarize(changes); s.Added != 3 || s.Changed != 3 || s.Deleted != 1 {
		t.Errorf("summary: %+v", s)
	}
}
