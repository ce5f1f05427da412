package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
)

// TerraformResult is what `terraform plan` (or `tofu plan`) said about an
// application's workspace: neutral to how the binary was run, so that the
// planner stays free of the target package.
type TerraformResult struct {
	// Binary names the binary and its version, e.g. "terraform 1.11.4".
	Binary string `json:"binary"`
	// Workspace is the terraform workspace planned.
	Workspace string `json:"workspace"`
	// Counts are the plan's counts of each action.
	Counts TerraformCounts `json:"counts"`
	// Resources are the resources the plan changes (no-op and read
	// actions left out), in address order.
	Resources []TerraformResource `json:"resources,omitempty"`
	// Outputs are the root module outputs that change.
	Outputs []TerraformOutput `json:"outputs,omitempty"`
	// Human is the plan's human rendering trimmed to the actions, with
	// sensitive values masked as terraform masks them.
	Human string `json:"human,omitempty"`
	// Fingerprint digests the changes (not the planfile bytes): two plans
	// of the same change have the same fingerprint.
	Fingerprint string `json:"fingerprint"`
}

// TerraformCounts counts the actions of a Terraform plan as terraform's
// own summary line does (a replacement is one add and one destroy), with
// the replacements and imports among them.
type TerraformCounts struct {
	Import  int `json:"import"`
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Replace int `json:"replace"`
	Forget  int `json:"forget,omitempty"`
}

// String renders the counts as terraform's summary line does, with
// replacements and imports named.
func (c TerraformCounts) String() string {
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

// CountTerraform counts resource actions.
func CountTerraform(rs []TerraformResource) TerraformCounts {
	var c TerraformCounts
	for _, r := range rs {
		switch r.Action {
		case TerraformCreate:
			c.Add++
		case TerraformUpdate:
			c.Change++
		case TerraformDelete:
			c.Destroy++
		case TerraformReplace:
			c.Add++
			c.Destroy++
			c.Replace++
		case TerraformImport:
			c.Import++
		case TerraformForget:
			c.Forget++
		}
	}
	return c
}

// Empty reports whether the plan changes nothing.
func (c TerraformCounts) Empty() bool {
	return c.Import+c.Add+c.Change+c.Destroy+c.Replace+c.Forget == 0
}

// Terraform resource actions, as TerraformResource.Action names them.
const (
	TerraformCreate  = "create"
	TerraformUpdate  = "update"
	TerraformDelete  = "delete"
	TerraformReplace = "replace"
	TerraformImport  = "import"
	// TerraformForget removes a resource from the state only (a `removed`
	// block with destroy = false): the real object is kept.
	TerraformForget = "forget"
)

// TerraformResource is one resource a Terraform plan changes.
type TerraformResource struct {
	Address string `json:"address"`
	// Action is create, update, delete, replace or import.
	Action string `json:"action"`
	// Reason is terraform's action reason (e.g. replace_because_tainted).
	Reason string `json:"reason,omitempty"`
}

// TerraformOutput is a root module output a plan changes.
type TerraformOutput struct {
	Name string `json:"name"`
	// Action is create, update or delete.
	Action    string `json:"action"`
	Sensitive bool   `json:"sensitive,omitempty"`
}

// Destroys lists the addresses of the resources the plan destroys, replaced
// ones included.
func (r *TerraformResult) Destroys() []string {
	var out []string
	for _, res := range r.Resources {
		if res.Action == TerraformDelete || res.Action == TerraformReplace {
			out = append(out, res.Address)
		}
	}
	return out
}

// TerraformInput is everything the Terraform planner decides from.
type TerraformInput struct {
	App  App
	Spec *config.TerraformApplicationSpec
	// Head is the commit being deployed; HeadMessage its full message.
	Head        Commit
	HeadMessage string
	// Running is the commit of the last successful deployment; nil when
	// none is recorded.
	Running *Commit
	// Strategy forces the strategy; empty lets the planner decide.
	Strategy Strategy
	// Commander is who triggered the deployment by hand.
	Commander string
	// ChangedFiles are the files changed since the running commit, for
	// skipOn.paths; nil when unknown.
	ChangedFiles []string
	// ConfigDigest fingerprints the application config.
	ConfigDigest string
	// Result is the terraform plan of the head against the workspace's
	// state.
	Result *TerraformResult
	Now    time.Time
}

// PlanTerraform plans a deployment of a TerraformApp. The strategy is
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
func PlanTerraform(in TerraformInput) (*Plan, error) {
	spec := in.Spec
	if spec == nil {
		return nil, errors.New("no TerraformApp spec")
	}
	if in.Result == nil {
		return nil, errors.New("no terraform plan result")
	}
	p, err := New(Input{
		App: in.App, Spec: spec.Generic(), Head: in.Head, HeadMessage: in.HeadMessage, Running: in.Running,
		Strategy: in.Strategy, Commander: in.Commander, ChangedFiles: in.ChangedFiles, ConfigDigest: in.ConfigDigest, Now: in.Now,
	}, Kind{
		QuickSync:         Stage{ID: "TerraformSync", Name: config.StageTerraformSync, Desc: "Sync by automatically applying any detected changes"},
		AutoRollback:      spec.AutoRollbackEnabled(config.KindTerraformApp),
		NoPipelineReason:  "Quick sync by automatically applying any detected changes because no pipeline was configured",
		CommitMatchReason: "Quick sync by automatically applying any detected changes",
	})
	if err != nil {
		return nil, err
	}
	p.App.Kind = string(config.KindTerraformApp)
	p.Mode = ModeLive
	r := in.Result
	p.Changes = TerraformChanges(r)
	p.Summary = Summarize(p.Changes)
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

// TerraformChanges turns a terraform plan into the plan's changes: one per
// resource (its block of the rendering as the diff) and one per changed
// output (key "output.NAME"). Destroys carry a note, replacements say so.
func TerraformChanges(r *TerraformResult) []Change {
	addrs := make([]string, len(r.Resources))
	for i, res := range r.Resources {
		addrs[i] = res.Address
	}
	blocks := splitTerraformBlocks(r.Human, addrs)
	var out []Change
	for _, res := range r.Resources {
		c := Change{Key: res.Address, Language: LanguageHCL, Diff: blocks[res.Address]}
		switch res.Action {
		case TerraformCreate, TerraformImport:
			c.Action = ActionAdd
			if res.Action == TerraformImport {
				c.Note = "imported into the state"
			}
		case TerraformDelete:
			c.Action = ActionDelete
			c.Note = "DESTROYED"
		case TerraformReplace:
			c.Action = ActionChange
			c.Note = "REPLACED: destroyed and created again"
		case TerraformForget:
			c.Action = ActionDelete
			c.Note = "removed from the state only: the real object is kept"
		default:
			c.Action = ActionChange
		}
		if res.Reason != "" {
			c.Note = strings.TrimPrefix(c.Note+" ("+strings.ReplaceAll(res.Reason, "_", " ")+")", " ")
		}
		out = append(out, c)
	}
	for _, o := range r.Outputs {
		c := Change{Key: "output." + o.Name, Language: LanguageHCL, Diff: blocks["output."+o.Name]}
		switch o.Action {
		case TerraformCreate:
			c.Action = ActionAdd
		case TerraformDelete:
			c.Action = ActionDelete
		default:
			c.Action = ActionChange
		}
		if o.Sensitive {
			c.Note = "sensitive value"
		}
		out = append(out, c)
	}
	return out
}

// splitTerraformBlocks cuts terraform's rendering into the block of each
// resource (key: its address): a block starts at a "# ADDRESS ..." line
// (indented by at most two spaces) and runs until the next one or the
// outputs / summary section. The lines of the "Changes to Outputs:"
// section are keyed "output.NAME".
func splitTerraformBlocks(human string, addrs []string) map[string]string {
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

// SortTerraformResources orders resources by address.
func SortTerraformResources(rs []TerraformResource) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Address < rs[j].Address })
}
