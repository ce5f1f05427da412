package terraform

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/plan"
)

// Result is what `terraform plan` (or `tofu plan`) said about an
// application's workspace, as the planner and the reports read it: the
// details (plan.Plan.Details) of a TerraformApp's plan are its JSON form.
type Result struct {
	// Binary names the binary and its version, e.g. "terraform 1.11.4".
	Binary string `json:"binary"`
	// Workspace is the terraform workspace planned.
	Workspace string `json:"workspace"`
	// Counts are the plan's counts of each action.
	Counts ResultCounts `json:"counts"`
	// Resources are the resources the plan changes (no-op and read
	// actions left out), in address order.
	Resources []ResultResource `json:"resources,omitempty"`
	// Outputs are the root module outputs that change.
	Outputs []ResultOutput `json:"outputs,omitempty"`
	// Human is the plan's human rendering trimmed to the actions, with
	// sensitive values masked as terraform masks them.
	Human string `json:"human,omitempty"`
	// Fingerprint digests the changes (not the planfile bytes): two plans
	// of the same change have the same fingerprint.
	Fingerprint string `json:"fingerprint"`
}

// ResultCounts counts the actions of a Terraform plan as terraform's
// own summary line does (a replacement is one add and one destroy), with
// the replacements and imports among them.
type ResultCounts struct {
	Import  int `json:"import"`
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Replace int `json:"replace"`
	Forget  int `json:"forget,omitempty"`
}

// String renders the counts as terraform's summary line does, with
// replacements and imports named.
func (c ResultCounts) String() string {
	s := fmt.Sprintf("%d to add, %d to change, %d to destroy", c.Add, c.Change, c.Destroy)
	if c.Replace > 0 {
		s += fmt.Sprintf(" (%d replaced)", c.Replace)
	}
	if c.Forget > 0 {
		s += fmt.Sprintf(", %d to forget", c.Forget)
	}
	if c.Import > 0 {
		s = fmt.Sprintf("%d to import, ", c.Import) + s
	}
	return s
}

// countResources counts resource actions.
func countResources(rs []ResultResource) ResultCounts {
	var c ResultCounts
	for _, r := range rs {
		switch r.Action {
		case ActionCreate:
			c.Add++
		case ActionUpdate:
			c.Change++
		case ActionDelete:
			c.Destroy++
		case ActionReplace:
			c.Add++
			c.Destroy++
			c.Replace++
		case ActionImport:
			c.Import++
		case ActionForget:
			c.Forget++
		}
	}
	return c
}

// Empty reports whether the plan changes nothing.
func (c ResultCounts) Empty() bool {
	return c.Import+c.Add+c.Change+c.Destroy+c.Replace+c.Forget == 0
}

// ResultResource is one resource a Terraform plan changes.
type ResultResource struct {
	Address string `json:"address"`
	// Action is ActionCreate, ActionUpdate, ActionDelete, ActionReplace,
	// ActionImport or ActionForget (a `removed` block with destroy = false:
	// the resource leaves the state, the real object is kept).
	Action string `json:"action"`
	// Reason is terraform's action reason (e.g. replace_because_tainted).
	Reason string `json:"reason,omitempty"`
}

// ResultOutput is a root module output a plan changes.
type ResultOutput struct {
	Name string `json:"name"`
	// Action is ActionCreate, ActionUpdate or ActionDelete.
	Action    string `json:"action"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// Destroys lists the addresses of the resources the plan destroys, replaced
// ones included.
func (r *Result) Destroys() []string {
	var out []string
	for _, res := range r.Resources {
		if res.Action == ActionDelete || res.Action == ActionReplace {
			out = append(out, res.Address)
		}
	}
	return out
}

// planInput is everything the Terraform planner decides from.
type planInput struct {
	// Input is what the rules every kind shares read.
	plan.Input
	Spec *config.TerraformApplicationSpec
	// Result is the terraform plan of the head against the workspace's
	// state.
	Result *Result
}

// planTerraform plans a deployment of a TerraformApp. The strategy is
// decided by the first rule that applies, in PipeCD's order for Terraform:
//
//  1. forced by the command (--strategy);
//  2. no pipeline configured: quick sync (TERRAFORM_SYNC: plan, then apply
//     when there are changes);
//  3. planner.alwaysUsePipeline: pipeline;
//  4. commitMatcher.pipeline, then commitMatcher.quickSync;
//  5. otherwise the pipeline: unlike Kubernetes there is no image to
//     compare, and a Terraform change is reviewed by its stages.
//
// The changes are the plan's resource and output changes, each with its
// block of terraform's rendering; a plan is a live plan by nature (it
// compares the configuration with the workspace's state).
func planTerraform(in planInput) (*plan.Plan, error) {
	spec := in.Spec
	if spec == nil {
		return nil, errors.New("no TerraformApp spec")
	}
	if in.Result == nil {
		return nil, errors.New("no terraform plan result")
	}
	input := in.Input
	input.Spec = spec.Generic()
	p, err := plan.New(input, plan.Kind{
		QuickSync:         plan.Stage{ID: "TerraformSync", Name: config.StageTerraformSync, Desc: "Sync by automatically applying any detected changes"},
		AutoRollback:      spec.AutoRollbackEnabled(config.KindTerraformApp),
		NoPipelineReason:  "Quick sync by automatically applying any detected changes because no pipeline was configured",
		CommitMatchReason: "Quick sync by automatically applying any detected changes",
	})
	if err != nil {
		return nil, err
	}
	p.App.Kind = string(config.KindTerraformApp)
	p.Mode = plan.ModeLive
	r := in.Result
	p.Changes = resultChanges(r)
	p.Summary = plan.Summarize(p.Changes)
	p.Compared = fmt.Sprintf("workspace %q's state with the head's configuration (%s plan)", r.Workspace, r.Binary)
	p.Counts = r.Counts.String()
	p.Destroys = r.Destroys()
	if p.Details, err = json.Marshal(r); err != nil {
		return nil, err
	}
	p.Source.Desired = r.Fingerprint
	p.Source.DesiredChanged = "terraform now plans different changes than the saved plan (the state, the infrastructure or an input outside the repository changed since it was made)"
	return p, nil
}

// resultChanges turns a terraform plan into the plan's changes: one per
// resource (its block of the rendering as the diff) and one per changed
// output (key "output.NAME"). Destroys carry a note, replacements say so.
func resultChanges(r *Result) []plan.Change {
	addrs := make([]string, len(r.Resources))
	for i, res := range r.Resources {
		addrs[i] = res.Address
	}
	blocks := splitBlocks(r.Human, addrs)
	var out []plan.Change
	for _, res := range r.Resources {
		c := plan.Change{Key: res.Address, Language: plan.LanguageHCL, Diff: blocks[res.Address]}
		switch res.Action {
		case ActionCreate, ActionImport:
			c.Action = plan.ActionAdd
			if res.Action == ActionImport {
				c.Note = "imported into the state"
			}
		case ActionDelete:
			c.Action = plan.ActionDelete
			c.Note = "DESTROYED"
		case ActionReplace:
			c.Action = plan.ActionChange
			c.Note = "REPLACED: destroyed and created again"
		case ActionForget:
			c.Action = plan.ActionDelete
			c.Note = "removed from the state only: the real object is kept"
		default:
			c.Action = plan.ActionChange
		}
		if res.Reason != "" {
			c.Note = strings.TrimPrefix(c.Note+" ("+strings.ReplaceAll(res.Reason, "_", " ")+")", " ")
		}
		out = append(out, c)
	}
	for _, o := range r.Outputs {
		c := plan.Change{Key: "output." + o.Name, Language: plan.LanguageHCL, Diff: blocks["output."+o.Name]}
		switch o.Action {
		case ActionCreate:
			c.Action = plan.ActionAdd
		case ActionDelete:
			c.Action = plan.ActionDelete
		default:
			c.Action = plan.ActionChange
		}
		if o.Sensitive {
			c.Note = "sensitive value"
		}
		out = append(out, c)
	}
	return out
}

// splitBlocks cuts terraform's rendering into the block of each
// resource (key: its address): a block starts at a "# ADDRESS ..." line
// (indented by at most two spaces) and runs until the next one or the
// outputs / summary section. The lines of the "Changes to Outputs:"
// section are keyed "output.NAME".
func splitBlocks(human string, addrs []string) map[string]string {
	out := map[string]string{}
	var key string
	var cur []string
	inOutputs := false
	flush := func() {
		if key != "" {
			out[key] = strings.TrimRight(strings.Join(cur, "\n"), "\n") + "\n"
		}
		key, cur = "", nil
	}
	for _, l := range strings.Split(human, "\n") {
		trimmed := strings.TrimLeft(l, " ")
		indent := len(l) - len(trimmed)
		switch {
		case strings.HasPrefix(l, "Changes to Outputs:"):
			flush()
			inOutputs = true
		case strings.HasPrefix(l, "Plan: "), strings.HasPrefix(l, "Terraform will perform"), strings.HasPrefix(l, "OpenTofu will perform"):
			flush()
			inOutputs = false
		case inOutputs && indent == 2 && len(trimmed) > 2 && strings.ContainsRune("+-~", rune(trimmed[0])) && trimmed[1] == ' ':
			flush()
			name, _, _ := strings.Cut(strings.TrimSpace(trimmed[2:]), " ")
			key, cur = "output."+name, []string{l}
		case !inOutputs && indent <= 2 && strings.HasPrefix(trimmed, "# "):
			flush()
			rest := strings.TrimPrefix(trimmed, "# ")
			// An address may hold spaces (a for_each key): the longest
			// known address the line starts with wins.
			addr := ""
			for _, a := range addrs {
				if strings.HasPrefix(rest, a+" ") && len(a) > len(addr) {
					addr = a
				}
			}
			if addr == "" {
				addr, _, _ = strings.Cut(rest, " ")
			}
			key, cur = addr, []string{"  " + trimmed}
		default:
			if key != "" {
				cur = append(cur, l)
			}
		}
	}
	flush()
	return out
}

// sortResources orders resources by address.
func sortResources(rs []ResultResource) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Address < rs[j].Address })
}
