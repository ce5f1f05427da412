package report

import (
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/plan"
)

// A Terraform plan's comment shows terraform's counts, the binary and the
// workspace, calls out the resources it destroys, and shows each
// resource's block of the rendering in an hcl fence. The plan is the one
// the terraform platform makes of a replacement, a destruction and an
// update (internal/platform/terraform's TestPlannerDestroys).
func TestPlanCommentTerraformDestroys(t *testing.T) {
	p := terraformPlan()
	p.Counts, p.Destroys = "1 to add, 1 to change, 2 to destroy (1 replaced)", []string{"terraform_data.cache", "terraform_data.old"}
	p.Compared = `workspace "prod"'s state with the head's configuration (tofu 1.10.10 plan)`
	p.Changes = []plan.Change{
		{Key: "terraform_data.cache", Action: plan.ActionChange, Language: plan.LanguageHCL,
			Diff: "  # terraform_data.cache must be replaced\n-/+ resource \"terraform_data\" \"cache\" {\n    }\n",
			Note: "REPLACED: destroyed and created again (replace because cannot update)"},
		{Key: "terraform_data.old", Action: plan.ActionDelete, Language: plan.LanguageHCL,
			Diff: "  # terraform_data.old will be destroyed\n  - resource \"terraform_data\" \"old\" {\n    }\n", Note: "DESTROYED"},
		{Key: "terraform_data.web", Action: plan.ActionChange, Language: plan.LanguageHCL,
			Diff: "  # terraform_data.web will be updated in-place\n  ~ resource \"terraform_data\" \"web\" {\n      ~ input = \"a\" -> \"b\"\n    }\n"},
	}
	p.Summary = plan.Summarize(p.Changes)
	out := PlanComment(&PlanReport{CI: ghCtx, Plans: []*plan.Plan{p}}, GitHubCommentLimit, 1)[0]
	for _, want := range []string{
		"**Changes:** 1 to add, 1 to change, 2 to destroy (1 replaced)",
		"_Compared: workspace \"prod\"'s state with the head's configuration (tofu 1.10.10 plan)._",
		"> [!CAUTION]\n> **Destroys 2 resource(s):** `terraform_data.cache`, `terraform_data.old`",
		"<code>terraform_data.old</code> (delete) — DESTROYED",
		"REPLACED: destroyed and created again (replace because cannot update)",
		"```hcl\n  # terraform_data.web will be updated in-place\n  ~ resource \"terraform_data\" \"web\" {\n      ~ input = \"a\" -&gt; \"b\"",
	} {
		if !strings.Contains(out, want) && !strings.Contains(out, strings.ReplaceAll(want, "-&gt;", "->")) {
			t.Errorf("the comment lacks %q:\n%s", want, out)
		}
	}
}
