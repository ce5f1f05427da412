package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/plan"
)

func TestPlanCommentGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    func(t *testing.T) *PlanReport
	}{
		{"quick", func(t *testing.T) *PlanReport {
			return &PlanReport{CI: ghCtx, Plans: []*plan.Plan{quickPlan()}}
		}},
		{"pipeline", func(t *testing.T) *PlanReport {
			return &PlanReport{Title: "production", CI: ghCtx, Plans: []*plan.Plan{pipelinePlan(t), quickPlan(), unchangedPlan(), terraformPlan()}}
		}},
		{"nochange", func(t *testing.T) *PlanReport {
			return &PlanReport{CI: ghCtx, Plans: []*plan.Plan{unchangedPlan()}}
		}},
		{"noapps", func(t *testing.T) *PlanReport {
			return &PlanReport{CI: ghCtx}
		}},
		{"error", func(t *testing.T) *PlanReport {
			return &PlanReport{CI: ghCtx, Plans: []*plan.Plan{quickPlan()}, Errors: []AppError{
				{App: "web", Error: "rendering apps/web: kustomize build: accumulating resources: missing.yaml: no such file",
					Hint: "check kustomization.yaml", Detail: "Error: accumulating resources\n  missing.yaml: no such file or directory"},
				{App: "db", Error: "apps/db/app.pipecd.yaml is invalid | see `pipe validate`"},
			}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r(t)
			parts := PlanComment(r, GitHubCommentLimit, DefaultMaxParts)
			if len(parts) != 1 {
				t.Fatalf("%d parts, want 1", len(parts))
			}
			if !strings.HasPrefix(parts[0], PlanMarker(r.Title, 1)+"\n") {
				t.Errorf("the comment does not start with its marker:\n%s", parts[0])
			}
			checkBalanced(t, tc.name, parts[0])
			golden(t, "comment_"+tc.name+".md", parts[0])
			sum := PlanSummary(r, StepSummaryLimit)
			checkBalanced(t, tc.name+" summary", sum)
			golden(t, "summary_"+tc.name+".md", sum)
		})
	}
}

func TestPlanCommentHugeDiff(t *testing.T) {
	r := &PlanReport{CI: ghCtx, Plans: []*plan.Plan{hugePlan(""), quickPlan()}}
	parts := PlanComment(r, GitHubCommentLimit, DefaultMaxParts)
	if len(parts) < 2 {
		t.Fatalf("%d parts, want continuation comments", len(parts))
	}
	for i, p := range parts {
		name := fmt.Sprintf("part %d", i+1)
		if len([]rune(p)) > GitHubCommentLimit {
			t.Errorf("%s has %d characters, over GitHub's limit", name, len([]rune(p)))
		}
		if !strings.HasPrefix(p, PlanMarker("", i+1)+"\n") {
			t.Errorf("%s does not start with its marker %q", name, PlanMarker("", i+1))
		}
		checkBalanced(t, name, p)
		golden(t, fmt.Sprintf("comment_huge.%d.md", i+1), p)
	}
	if !strings.Contains(parts[0], "more line(s) not shown here. The full plan is in the [job summary](https://github.com/acme/deploys/actions/runs/42)") {
		t.Error("the cut diff does not point to the job summary")
	}
	if !strings.Contains(parts[1], "_(continued, part 2 of") {
		t.Error("part 2 is not labelled as a continuation")
	}
	// The summary holds every line.
	sum := PlanSummary(r, StepSummaryLimit)
	checkBalanced(t, "summary", sum)
	if !strings.Contains(sum, "key-01999") || strings.Contains(sum, "not shown here") {
		t.Error("the job summary does not hold the full diff")
	}
	golden(t, "summary_huge.md", sum)

	// Over the number of parts: a visible note, never a broken block.
	few := PlanComment(r, 20000, 2)
	if len(few) != 2 {
		t.Fatalf("%d parts, want 2", len(few))
	}
	for i, p := range few {
		checkBalanced(t, fmt.Sprintf("limited part %d", i+1), p)
		if len(p) > 20000 {
			t.Errorf("limited part %d is %d bytes", i+1, len(p))
		}
	}
	if !strings.Contains(few[1], "more section(s) did not fit. The full plan is in the [job summary]") {
		t.Errorf("the last part does not say what was left out:\n%s", few[1][len(few[1])-400:])
	}
}

func TestFenceLongerThanBackticksInCode(t *testing.T) {
	p := quickPlan()
	p.Changes[0].Diff = "+ text: |\n+   ```yaml\n+   ````\n"
	out := PlanComment(&PlanReport{Plans: []*plan.Plan{p}}, GitHubCommentLimit, 1)[0]
	if !strings.Contains(out, "`````diff\n") {
		t.Errorf("the fence is not longer than the code's backticks:\n%s", out)
	}
	checkBalanced(t, "fence", out)
}

func TestPlanMarkerTitles(t *testing.T) {
	for title, want := range map[string]string{
		"":               `<!-- pipe:plan title="default" -->`,
		"staging":        `<!-- pipe:plan title="staging" -->`,
		`a --> b "c"`:    `<!-- pipe:plan title="a -‐&gt; b &quot;c&quot;" -->`,
		"  production  ": `<!-- pipe:plan title="production" -->`,
	} {
		if got := PlanMarker(title, 1); got != want {
			t.Errorf("PlanMarker(%q) = %s, want %s", title, got, want)
		}
	}
	if got := PlanMarker("x", 3); got != `<!-- pipe:plan title="x" part=3 -->` {
		t.Errorf("part marker %s", got)
	}
}

func TestPlanLabels(t *testing.T) {
	add, remove := PlanLabels(&PlanReport{Plans: []*plan.Plan{pipelinePlan(t)}})
	if strings.Join(add, ",") != "pipe:progressive,pipe:destroy" || strings.Join(remove, ",") != "pipe:no-changes" {
		t.Errorf("add %v remove %v", add, remove)
	}
	add, remove = PlanLabels(&PlanReport{Plans: []*plan.Plan{unchangedPlan()}})
	if strings.Join(add, ",") != "pipe:no-changes" || len(remove) != 2 {
		t.Errorf("add %v remove %v", add, remove)
	}
}

func TestResultCommentGolden(t *testing.T) {
	rec := sampleRecord()
	body := ResultComment("", ghCtx, rec, rec.UpdatedAt)
	golden(t, "result_failed.md", body)
	if !RolledBack(rec) {
		t.Error("RolledBack is false for a record whose ROLLBACK stage ran")
	}
}

// A saved plan may come from an untrusted job (the fork pattern): nothing
// in it may break out of its table cell, code block or <details>.
func TestPlanCommentHostilePlan(t *testing.T) {
	p := quickPlan()
	p.App.Name = "x | <img src=x>"
	p.App.Kind = "K|<b>"
	p.Strategy = "EVIL\n```"
	p.Reason = "line\n</details>\n```"
	p.Changes[0].Language = "diff\n```\n<script>"
	p.Changes[0].Key = "</summary></details><details>"
	p.Changes[0].Note = "</details>"
	p.Changes[0].Diff = "```\n</details>\n"
	body := PlanComment(&PlanReport{Plans: []*plan.Plan{p, quickPlan()}, Errors: []AppError{{App: "<!--", Error: "-->\n```"}}}, GitHubCommentLimit, 1)[0]
	checkBalanced(t, "hostile", body)
	// (HTML inside inline code or a code block is shown as text.)
	for _, bad := range []string{"<img", "<script>", "</summary></details>"} {
		if strings.Contains(body, bad) {
			t.Errorf("the comment contains %q:\n%s", bad, body)
		}
	}
}
