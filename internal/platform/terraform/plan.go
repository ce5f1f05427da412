package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/gitops-pipe/pipe/internal/lazyre"
)

// Action names in ResourceChange.Actions and OutputChange.Action.
const (
	ActionCreate  = "create"
	ActionUpdate  = "update"
	ActionDelete  = "delete"
	ActionReplace = "replace"
	ActionRead    = "read"
	ActionNoOp    = "no-op"
	ActionImport  = "import"
	ActionForget  = "forget"
)

// PlanOptions choose the kind of plan.
type PlanOptions struct {
	// Out is where the saved plan is written (relative to the current
	// directory). Empty means a new file in a fresh temporary directory;
	// the caller removes it (Plan.File) when done. Saved plans hold
	// sensitive values in clear: keep them private.
	Out string
	// RefreshOnly plans only to update the state to match real
	// infrastructure (-refresh-only).
	RefreshOnly bool
	// Destroy plans to destroy every resource (-destroy).
	Destroy bool
}

// Counts are the numbers of the plan, as terraform's "Plan:" line counts
// them: a replace counts in Add and in Destroy, and in Replace.
type Counts struct {
	Import  int `json:"import"`
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Replace int `json:"replace"`
}

// ResourceChange is one resource instance the plan changes (or, in drift,
// that changed outside terraform).
type ResourceChange struct {
	// Address is the instance address, e.g. `module.net.aws_vpc.main[0]`.
	Address string `json:"address"`
	// Actions are ActionCreate, ActionUpdate, ActionDelete, ActionReplace,
	// ActionRead, ActionNoOp or ActionForget, preceded by ActionImport when
	// the instance is imported.
	Actions []string `json:"actions"`
	// Reason is terraform's action_reason, e.g.
	// "replace_because_cannot_update", "replace_by_triggers",
	// "delete_because_no_resource_config"; empty when none.
	Reason string `json:"reason,omitempty"`
	// ImportID is the ID imported, when importing.
	ImportID string `json:"importId,omitempty"`
	// Before and After are the whole values, masked (SensitiveValue,
	// UnknownValue).
	Before any `json:"before,omitempty"`
	After  any `json:"after,omitempty"`
	// Attributes are the attributes that differ.
	Attributes []AttributeChange `json:"attributes,omitempty"`
}

// Has reports whether the change includes action a.
func (r ResourceChange) Has(a string) bool {
	for _, x := range r.Actions {
		if x == a {
			return true
		}
	}
	return false
}

// OutputChange is one root module output the plan changes.
type OutputChange struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	// Sensitive outputs show SensitiveValue as Before/After.
	Sensitive bool `json:"sensitive,omitempty"`
	Before    any  `json:"before,omitempty"`
	After     any  `json:"after,omitempty"`
}

// Plan is a saved plan and what it does.
type Plan struct {
	// File is the absolute path of the saved plan (apply it with Apply).
	File string `json:"file"`
	// HasChanges is true when applying would change resources or outputs.
	HasChanges bool `json:"hasChanges"`
	// RefreshOnly and Destroy echo the PlanOptions.
	RefreshOnly bool   `json:"refreshOnly,omitempty"`
	Destroy     bool   `json:"destroy,omitempty"`
	Counts      Counts `json:"counts"`
	// Resources are the resource instances with an action other than
	// no-op, sorted by address.
	Resources []ResourceChange `json:"resources"`
	// Outputs are the outputs with an action other than no-op.
	Outputs []OutputChange `json:"outputs"`
	// Drift are the resources terraform found changed outside of terraform
	// while refreshing (resource_drift).
	Drift []ResourceChange `json:"drift,omitempty"`
	// Human is terraform's rendering of the plan, trimmed to the actions
	// (resource blocks, "Changes to Outputs:", the "Plan:" line), with
	// sensitive values hidden.
	Human string `json:"human"`
	// Fingerprint is a sha256 over the normalised changes (addresses,
	// actions, reasons, masked values, outputs). Two plans making the same
	// change have the same fingerprint; see Fingerprint in docs.
	Fingerprint string `json:"fingerprint"`
}

// Destroys returns the addresses the plan deletes, replaces included.
func (p *Plan) Destroys() []string {
	var out []string
	for _, r := range p.Resources {
		if r.Has(ActionDelete) || r.Has(ActionReplace) {
			out = append(out, r.Address)
		}
	}
	return out
}

// Plan runs `plan -input=false -out=FILE` with the vars, var files,
// commandFlags.shared+plan and commandEnvs.shared+plan, then reads the
// saved plan back as JSON and as terraform's human rendering.
func (w *Workspace) Plan(ctx context.Context, opts PlanOptions) (*Plan, error) {
	out := opts.Out
	if out == "" {
		dir, err := os.MkdirTemp("", "pipe-tfplan-")
		if err != nil {
			return nil, fmt.Errorf("creating a directory for the saved plan: %v; set TMPDIR to a writable directory", err)
		}
		out = filepath.Join(dir, "plan.tfplan")
	}
	out, err := filepath.Abs(out)
	if err != nil {
		return nil, fmt.Errorf("saved plan path %q: %v", opts.Out, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of the saved plan %s: %v", out, err)
	}
	if opts.RefreshOnly && opts.Destroy {
		return nil, fmt.Errorf("plan in %s: RefreshOnly and Destroy cannot be combined", w.dir)
	}
	// terraform's plan rendering on stdout is not streamed: it may show
	// sensitive values copied into unmarked attributes, which are known
	// only once the plan is read back. The masked Human goes out instead.
	tf, done, err := w.tf(cmdPlan, true)
	if err != nil {
		return nil, err
	}
	tf.SetStdout(nil)
	po := []tfexec.PlanOption{tfexec.Out(out)}
	for _, f := range w.varFiles {
		po = append(po, tfexec.VarFile(f))
	}
	for _, v := range w.vars {
		po = append(po, tfexec.Var(v))
	}
	po = append(po, w.flags[cmdPlan].planOptions()...)
	if opts.RefreshOnly {
		po = append(po, tfexec.RefreshOnly(true))
	}
	if opts.Destroy {
		po = append(po, tfexec.Destroy(true))
	}
	w.logf("%s plan -input=false -out=%s%s in %s", w.bin.Flavor, out, w.describeVars(), w.dir)
	_, err = tf.Plan(ctx, po...)
	done()
	if err != nil {
		return nil, w.translate(cmdPlan, err)
	}
	p, err := w.ReadPlan(ctx, out)
	if err != nil {
		return nil, err
	}
	p.RefreshOnly, p.Destroy = opts.RefreshOnly, opts.Destroy
	if w.opts.Stdout != nil {
		_, _ = io.WriteString(w.opts.Stdout, p.Human+"\n")
	}
	if opts.RefreshOnly && len(p.Drift) > 0 {
		p.HasChanges = true
	}
	return p, nil
}

func (w *Workspace) describeVars() string {
	var b strings.Builder
	for _, v := range w.vars {
		k, _, _ := strings.Cut(v, "=")
		b.WriteString(" -var " + k + "=...")
	}
	for _, f := range w.varFiles {
		b.WriteString(" -var-file=" + f)
	}
	return b.String()
}

// ReadPlan reads a saved plan made in this workspace (by Plan, here or in
// an earlier job) without applying it. It cannot tell a refresh-only plan
// from a normal one: HasChanges counts resources and outputs only.
func (w *Workspace) ReadPlan(ctx context.Context, file string) (*Plan, error) {
	file, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("saved plan %q: %v", file, err)
	}
	tf, done, err := w.tf("", false)
	if err != nil {
		return nil, err
	}
	defer done()
	js, err := tf.ShowPlanFile(ctx, file, tfexec.JSONNumber(true))
	if err != nil {
		return nil, w.translate("show -json "+file, err)
	}
	raw, err := tf.ShowPlanFileRaw(ctx, file)
	if err != nil {
		return nil, w.translate("show "+file, err)
	}
	p := buildPlan(js)
	p.File = file
	for s := range p.secrets {
		w.redact.add(s)
	}
	w.planned[file] = true
	p.Human = trimHuman(raw, p.secrets, w.redact)
	return p.Plan, nil
}

// builtPlan is a Plan with the sensitive strings found while building it.
type builtPlan struct {
	*Plan
	secrets map[string]bool
}

func buildPlan(js *tfjson.Plan) builtPlan {
	p := &Plan{}
	secrets := map[string]bool{}
	// Gather sensitive values first so that copies in unmarked attributes
	// are masked too.
	gather := func(rcs []*tfjson.ResourceChange) {
		for _, rc := range rcs {
			if rc == nil || rc.Change == nil {
				continue
			}
			collectSensitive(rc.Change.Before, rc.Change.BeforeSensitive, secrets)
			collectSensitive(rc.Change.After, rc.Change.AfterSensitive, secrets)
		}
	}
	gather(js.ResourceChanges)
	gather(js.ResourceDrift)
	for _, oc := range js.OutputChanges {
		if oc == nil {
			continue
		}
		collectSensitive(oc.Before, oc.BeforeSensitive, secrets)
		collectSensitive(oc.After, oc.AfterSensitive, secrets)
	}
	// Values of variables declared sensitive.
	if js.Config != nil && js.Config.RootModule != nil {
		for name, v := range js.Config.RootModule.Variables {
			if v != nil && v.Sensitive {
				if pv := js.Variables[name]; pv != nil {
					collectLeaves(pv.Value, secrets)
				}
			}
		}
	}
	for _, rc := range js.ResourceChanges {
		c, ok := convertChange(rc, secrets)
		if !ok {
			continue
		}
		if len(c.Actions) == 1 && c.Actions[0] == ActionNoOp {
			continue
		}
		p.Resources = append(p.Resources, c)
		if c.Has(ActionImport) {
			p.Counts.Import++
		}
		switch {
		case c.Has(ActionReplace):
			p.Counts.Add++
			p.Counts.Destroy++
			p.Counts.Replace++
		case c.Has(ActionCreate):
			p.Counts.Add++
		case c.Has(ActionUpdate):
			p.Counts.Change++
		case c.Has(ActionDelete):
			p.Counts.Destroy++
		}
	}
	for _, rc := range js.ResourceDrift {
		if c, ok := convertChange(rc, secrets); ok {
			p.Drift = append(p.Drift, c)
		}
	}
	for _, name := range sortedKeys(js.OutputChanges) {
		oc := js.OutputChanges[name]
		if oc == nil {
			continue
		}
		a := actionName(oc.Actions)
		if a == ActionNoOp {
			continue
		}
		sens := isTrue(oc.BeforeSensitive) || isTrue(oc.AfterSensitive)
		o := OutputChange{Name: name, Action: a, Sensitive: sens,
			Before: maskKnownSecrets(maskValue(oc.Before, oc.BeforeSensitive, nil), secrets),
			After:  maskKnownSecrets(maskValue(oc.After, oc.AfterSensitive, oc.AfterUnknown), secrets)}
		p.Outputs = append(p.Outputs, o)
	}
	sort.Slice(p.Resources, func(i, j int) bool { return p.Resources[i].Address < p.Resources[j].Address })
	sort.Slice(p.Drift, func(i, j int) bool { return p.Drift[i].Address < p.Drift[j].Address })
	p.HasChanges = len(p.Resources) > 0 || len(p.Outputs) > 0
	p.Fingerprint = fingerprint(js)
	return builtPlan{Plan: p, secrets: secrets}
}

func convertChange(rc *tfjson.ResourceChange, secrets map[string]bool) (ResourceChange, bool) {
	if rc == nil || rc.Change == nil {
		return ResourceChange{}, false
	}
	ch := rc.Change
	c := ResourceChange{Address: rc.Address, Reason: string(rc.ActionReason)}
	if ch.Importing != nil {
		c.Actions = append(c.Actions, ActionImport)
		c.ImportID = ch.Importing.ID
	}
	a := actionName(ch.Actions)
	if !(a == ActionNoOp && ch.Importing != nil) {
		c.Actions = append(c.Actions, a)
	}
	c.Before = maskKnownSecrets(maskValue(ch.Before, ch.BeforeSensitive, nil), secrets)
	c.After = maskKnownSecrets(maskValue(ch.After, ch.AfterSensitive, ch.AfterUnknown), secrets)
	diffValues("", c.Before, c.After, ch.Before, ch.After, &c.Attributes)
	return c, true
}

// actionName folds terraform's action list into one name.
func actionName(a tfjson.Actions) string {
	switch {
	case a.Replace():
		return ActionReplace
	case a.Create():
		return ActionCreate
	case a.Update():
		return ActionUpdate
	case a.Delete():
		return ActionDelete
	case a.Read():
		return ActionRead
	case a.NoOp():
		return ActionNoOp
	case len(a) == 1:
		return string(a[0])
	}
	parts := make([]string, len(a))
	for i, x := range a {
		parts[i] = string(x)
	}
	return strings.Join(parts, "+")
}

// fingerprint hashes the changes a plan makes: per resource (sorted by
// address) its actions, reason, import ID and masked before/after with a
// changed/unchanged flag per sensitive attribute, and the output changes.
// Sensitive values never enter the hash by value, so the fingerprint can
// be published.
func fingerprint(js *tfjson.Plan) string {
	type res struct {
		Address string          `json:"a"`
		Actions []string        `json:"x"`
		Reason  string          `json:"r,omitempty"`
		Import  string          `json:"i,omitempty"`
		Before  any             `json:"b"`
		After   any             `json:"f"`
		Secret  map[string]bool `json:"s,omitempty"`
	}
	type out struct {
		Name    string          `json:"n"`
		Actions []string        `json:"x"`
		Before  any             `json:"b"`
		After   any             `json:"f"`
		Secret  map[string]bool `json:"s,omitempty"`
	}
	var doc struct {
		V         int   `json:"v"`
		Resources []res `json:"r"`
		Outputs   []out `json:"o"`
		Drift     []res `json:"d,omitempty"`
	}
	doc.V = 1
	conv := func(rc *tfjson.ResourceChange) (res, bool) {
		if rc == nil || rc.Change == nil {
			return res{}, false
		}
		ch := rc.Change
		r := res{Address: rc.Address, Reason: string(rc.ActionReason)}
		for _, a := range ch.Actions {
			r.Actions = append(r.Actions, string(a))
		}
		if ch.Importing != nil {
			r.Import = ch.Importing.ID
		}
		mb := maskValue(ch.Before, ch.BeforeSensitive, nil)
		ma := maskValue(ch.After, ch.AfterSensitive, ch.AfterUnknown)
		r.Before, r.After = mb, ma
		var diffs []AttributeChange
		diffValues("", mb, ma, ch.Before, ch.After, &diffs)
		for _, d := range diffs {
			if d.Sensitive {
				if r.Secret == nil {
					r.Secret = map[string]bool{}
				}
				r.Secret[d.Path] = true
			}
		}
		return r, true
	}
	for _, rc := range js.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Change.Actions.NoOp() && rc.Change.Importing == nil {
			continue
		}
		if r, ok := conv(rc); ok {
			doc.Resources = append(doc.Resources, r)
		}
	}
	// A refresh-only plan applies the drift itself.
	if len(doc.Resources) == 0 {
		for _, rc := range js.ResourceDrift {
			if r, ok := conv(rc); ok {
				doc.Drift = append(doc.Drift, r)
			}
		}
	}
	for _, name := range sortedKeys(js.OutputChanges) {
		oc := js.OutputChanges[name]
		if oc == nil || oc.Actions.NoOp() {
			continue
		}
		o := out{Name: name}
		for _, a := range oc.Actions {
			o.Actions = append(o.Actions, string(a))
		}
		o.Before = maskValue(oc.Before, oc.BeforeSensitive, nil)
		o.After = maskValue(oc.After, oc.AfterSensitive, oc.AfterUnknown)
		if (o.Before == SensitiveValue || o.After == SensitiveValue) && !jsonEqual(oc.Before, oc.After) {
			o.Secret = map[string]bool{"": true}
		}
		doc.Outputs = append(doc.Outputs, o)
	}
	sort.Slice(doc.Resources, func(i, j int) bool { return doc.Resources[i].Address < doc.Resources[j].Address })
	sort.Slice(doc.Drift, func(i, j int) bool { return doc.Drift[i].Address < doc.Drift[j].Address })
	b, err := json.Marshal(doc)
	if err != nil {
		// Values come from JSON; they always marshal back.
		b = []byte(fmt.Sprintf("%#v", doc))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

var (
	preambleStart = lazyre.New(`^(Terraform|OpenTofu) used the selected providers to generate the following`)
	actionsHeader = lazyre.New(`^(Terraform|OpenTofu) will perform the following actions:`)
	separator     = lazyre.New(`^[─━-]{10,}\s*$`)
	trailerStart  = lazyre.New(`^(Note: You didn't use the -out option|Saved the plan to:|To perform exactly these actions, run the following command to apply:)`)
)

// trimHuman keeps the actions of terraform's plan rendering: it drops the
// symbol legend preamble, separators and the saved-plan trailers, and
// masks sensitive strings terraform printed in unmarked attributes.
func trimHuman(raw string, secrets map[string]bool, r *redactor) string {
	lines := strings.Split(strings.ReplaceAll(raw, "\r\n", "\n"), "\n")
	var out []string
	skipping, trailer := false, false
	for _, l := range lines {
		switch {
		case trailer:
			continue
		case preambleStart().MatchString(l):
			skipping = true
			continue
		case skipping:
			if actionsHeader().MatchString(l) {
				skipping = false
			}
			continue
		case separator().MatchString(l):
			continue
		case trailerStart().MatchString(l):
			trailer = true
			continue
		}
		out = append(out, l)
	}
	s := strings.TrimSpace(strings.Join(out, "\n"))
	s = collapseBlank(s)
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		if len(k) >= 4 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, fmt.Sprintf("%q", k), SensitiveValue)
		s = strings.ReplaceAll(s, k, SensitiveValue)
	}
	return r.apply(s)
}

func collapseBlank(s string) string {
	for strings.Contains(s, "\n\n\n") {
		s = strings.ReplaceAll(s, "\n\n\n", "\n\n")
	}
	return s
}
