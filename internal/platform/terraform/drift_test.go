package terraform

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/drift"
)

// fakeTFWorkspace returns a queued drift report (or error) and counts the
// checks and releases.
type fakeTFWorkspace struct {
	rep *DriftReport
	err error

	mu     sync.Mutex
	checks int
}

func (w *fakeTFWorkspace) Drift(ctx context.Context) (*DriftReport, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.checks++
	if w.err != nil {
		return nil, w.err
	}
	return w.rep, nil
}

func tfApp(name string) *config.App {
	spec := &config.TerraformApplicationSpec{}
	spec.Name = name
	return &config.App{Name: name, Kind: config.KindTerraformApp, Dir: "infra/" + name, Spec: spec}
}

// tfChecker checks the TerraformApps with ws (by app name); released
// counts the done calls.
func tfChecker(ws map[string]*fakeTFWorkspace, openErr map[string]error, released *int) *drift.Checker {
	var mu sync.Mutex
	pf := NewPlatform(PlatformOptions{})
	pf.driftOpen = func(ctx context.Context, _ string, app *config.App) (driftWorkspace, func(), error) {
		if err := openErr[app.Name]; err != nil {
			return nil, nil, err
		}
		w, ok := ws[app.Name]
		if !ok {
			return nil, nil, fmt.Errorf("no fake workspace for %s", app.Name)
		}
		return w, func() { mu.Lock(); *released++; mu.Unlock() }, nil
	}
	return &drift.Checker{Platforms: func(config.Kind) (drift.Platform, error) { return pf, nil }}
}

func checkOne(t *testing.T, rep *DriftReport) drift.AppResult {
	t.Helper()
	released := 0
	ws := &fakeTFWorkspace{rep: rep}
	c := tfChecker(map[string]*fakeTFWorkspace{"net": ws}, nil, &released)
	out := c.Check(context.Background(), []*config.App{tfApp("net")})
	if len(out.Apps) != 1 {
		t.Fatalf("%d results", len(out.Apps))
	}
	if ws.checks != 1 || released != 1 {
		t.Errorf("drift checked %d times, workspace released %d times", ws.checks, released)
	}
	r := out.Apps[0]
	if r.App != "net" || r.Kind != string(config.KindTerraformApp) || r.Dir != "infra/net" {
		t.Errorf("result identifies %s %s %s", r.App, r.Kind, r.Dir)
	}
	return r
}

func driftByKey(r drift.AppResult) map[string]drift.ObjectDrift {
	out := map[string]drift.ObjectDrift{}
	for _, d := range r.Drift {
		out[d.Key] = d
	}
	return out
}

func TestTerraformInSync(t *testing.T) {
	r := checkOne(t, &DriftReport{})
	if r.Status != drift.InSync || len(r.Drift) != 0 || r.Objects != 0 || r.Error != "" {
		t.Errorf("result %+v", r)
	}
	if r.Summary() != "no drift" {
		t.Errorf("summary %q", r.Summary())
	}
}

func TestTerraformRefreshDrift(t *testing.T) {
	r := checkOne(t, &DriftReport{Changed: []ResourceChange{{
		Address: "aws_s3_bucket.logs",
		Actions: []string{ActionUpdate},
		Attributes: []AttributeChange{
			{Path: `tags["env"]`, Before: "prod", After: "staging"},
			{Path: "versioning[0].enabled", Before: true, After: false},
		},
	}}})
	if r.Status != drift.OutOfSync || r.Changed != 1 || r.Added != 0 || r.Deleted != 0 || r.Objects != 1 {
		t.Fatalf("result %+v", r)
	}
	d := r.Drift[0]
	if d.Key != "aws_s3_bucket.logs" || d.Object != "resource aws_s3_bucket.logs" || d.Action != drift.ActionChanged {
		t.Errorf("drift %+v", d)
	}
	if !strings.Contains(d.Note, "changed outside terraform") {
		t.Errorf("note %q", d.Note)
	}
	// Git is what the state recorded (what was deployed), Live what the
	// resource is now.
	want := []drift.FieldDiff{
		{Path: `tags["env"]`, Op: drift.FieldChanged, Git: "prod", Live: "staging"},
		{Path: "versioning[0].enabled", Op: drift.FieldChanged, Git: true, Live: false},
	}
	if !reflect.DeepEqual(d.Fields, want) {
		t.Errorf("fields %+v, want %+v", d.Fields, want)
	}
}

func TestTerraformPendingChanges(t *testing.T) {
	r := checkOne(t, &DriftReport{
		Pending: []ResourceChange{
			{Address: "aws_instance.web", Actions: []string{ActionUpdate},
				Attributes: []AttributeChange{{Path: "instance_type", Before: "t3.small", After: "t3.large"}}},
			{Address: "aws_instance.db", Actions: []string{ActionReplace}, Reason: "replace_because_cannot_update"},
			{Address: "aws_sqs_queue.jobs", Actions: []string{ActionCreate},
				Attributes: []AttributeChange{{Path: "name", After: "jobs"}}},
			{Address: "aws_iam_role.old", Actions: []string{ActionDelete}},
			{Address: "module.m.aws_vpc.imported", Actions: []string{ActionImport, ActionUpdate}},
			// A data source read changes nothing in the infrastructure.
			{Address: "data.aws_ami.ubuntu", Actions: []string{ActionRead}},
		},
		Counts: Counts{Add: 2, Change: 2, Destroy: 2, Replace: 1, Import: 1},
	})
	if r.Status != drift.OutOfSync {
		t.Fatalf("status %s", r.Status)
	}
	if r.Added != 1 || r.Changed != 3 || r.Deleted != 1 || r.Objects != 5 {
		t.Errorf("added %d changed %d deleted %d objects %d", r.Added, r.Changed, r.Deleted, r.Objects)
	}
	if got := r.Summary(); got != "1 added, 3 changed, 1 deleted" {
		t.Errorf("summary %q", got)
	}
	byKey := driftByKey(r)
	if _, ok := byKey["data.aws_ami.ubuntu"]; ok {
		t.Errorf("a data source read is reported as drift")
	}
	for key, want := range map[string]struct{ action, note string }{
		"aws_instance.web":          {drift.ActionChanged, "a sync would update it"},
		"aws_instance.db":           {drift.ActionChanged, "a sync would replace it"},
		"aws_sqs_queue.jobs":        {drift.ActionAdded, "in Git, not in the state: a sync would create it"},
		"aws_iam_role.old":          {drift.ActionDeleted, "in the state, not in Git: a sync would destroy it"},
		"module.m.aws_vpc.imported": {drift.ActionChanged, "a sync would update it"},
	} {
		d, ok := byKey[key]
		if !ok {
			t.Errorf("no drift for %s", key)
			continue
		}
		if d.Action != want.action || d.Note != want.note || d.Object != "resource "+key {
			t.Errorf("%s: action %q note %q object %q, want %q %q", key, d.Action, d.Note, d.Object, want.action, want.note)
		}
	}
	// Before is the state (live), After what the configuration says (Git).
	if got, want := byKey["aws_instance.web"].Fields, []drift.FieldDiff{{Path: "instance_type", Op: drift.FieldChanged, Git: "t3.large", Live: "t3.small"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("fields %+v, want %+v", got, want)
	}
	if got := byKey["aws_sqs_queue.jobs"].Fields; len(got) != 1 || got[0].Git != "jobs" || got[0].Live != nil {
		t.Errorf("create fields %+v", got)
	}
}

func TestTerraformChangedAndPendingCountedOnce(t *testing.T) {
	// A resource changed outside terraform is also in the plan (terraform
	// would set it back): one drifted object, with the refresh's fields.
	changed := ResourceChange{Address: "aws_security_group.web", Actions: []string{ActionUpdate},
		Attributes: []AttributeChange{{Path: "ingress[0].cidr_blocks[0]", Before: "10.0.0.0/8", After: "0.0.0.0/0"}}}
	pending := ResourceChange{Address: "aws_security_group.web", Actions: []string{ActionUpdate},
		Attributes: []AttributeChange{{Path: "ingress[0].cidr_blocks[0]", Before: "0.0.0.0/0", After: "10.0.0.0/8"}}}
	r := checkOne(t, &DriftReport{Changed: []ResourceChange{changed}, Pending: []ResourceChange{pending}})
	if len(r.Drift) != 1 || r.Changed != 1 || r.Objects != 1 {
		t.Fatalf("drift %+v changed %d objects %d", r.Drift, r.Changed, r.Objects)
	}
	d := r.Drift[0]
	if !strings.Contains(d.Note, "changed outside terraform") || len(d.Fields) != 1 || d.Fields[0].Git != "10.0.0.0/8" || d.Fields[0].Live != "0.0.0.0/0" {
		t.Errorf("drift %+v", d)
	}
}

func TestTerraformOutputs(t *testing.T) {
	r := checkOne(t, &DriftReport{
		Outputs: []OutputChange{
			{Name: "endpoint", Action: ActionUpdate, Before: "a.example.com", After: "b.example.com"},
		},
		PendingOutputs: []OutputChange{
			// Also in the refresh: reported once.
			{Name: "endpoint", Action: ActionUpdate, Before: "b.example.com", After: "a.example.com"},
			{Name: "db_password", Action: ActionUpdate, Sensitive: true, Before: SensitiveValue, After: SensitiveValue},
			{Name: "queue_url", Action: ActionCreate, After: "https://sqs/jobs"},
		},
	})
	if r.Status != drift.OutOfSync || r.Changed != 3 || r.Objects != 3 || len(r.Drift) != 3 {
		t.Fatalf("result %+v", r)
	}
	byKey := driftByKey(r)
	ep := byKey["output.endpoint"]
	if ep.Object != "output endpoint" || ep.Action != drift.ActionChanged || ep.Note != "changed outside terraform (found by a refresh, update)" {
		t.Errorf("endpoint %+v", ep)
	}
	// The refresh found it changed: Git is what the state recorded, Live
	// what it is now (as for the resources a refresh finds changed).
	if want := []drift.FieldDiff{{Path: "endpoint", Op: drift.FieldChanged, Git: "a.example.com", Live: "b.example.com"}}; !reflect.DeepEqual(ep.Fields, want) {
		t.Errorf("endpoint fields %+v, want the refresh's %+v", ep.Fields, want)
	}
	pw, ok := byKey["output.db_password"]
	if !ok || len(pw.Fields) != 0 || pw.Note != "the output would change (update)" {
		t.Errorf("sensitive output %+v: must be reported without values", pw)
	}
	if q := byKey["output.queue_url"]; q.Note != "the output would change (create)" || len(q.Fields) != 1 || q.Fields[0].Git != "https://sqs/jobs" || q.Fields[0].Live != nil {
		t.Errorf("queue_url %+v", q)
	}
}

func TestTerraformSensitiveAttributesStayMasked(t *testing.T) {
	r := checkOne(t, &DriftReport{Changed: []ResourceChange{{
		Address: "aws_db_instance.main", Actions: []string{ActionUpdate},
		Attributes: []AttributeChange{{Path: "password", Before: SensitiveValue, After: SensitiveValue, Sensitive: true}},
	}}})
	if len(r.Drift) != 1 || len(r.Drift[0].Fields) != 1 {
		t.Fatalf("drift %+v", r.Drift)
	}
	if f := r.Drift[0].Fields[0]; f.Git != SensitiveValue || f.Live != SensitiveValue {
		t.Errorf("field %+v", f)
	}
}

func TestTerraformSkippedAndFailed(t *testing.T) {
	released := 0
	broken := &fakeTFWorkspace{err: errors.New("drift check (plan): plan in /repo/infra/broken: Error: Unsupported block type")}
	ok := &fakeTFWorkspace{rep: &DriftReport{}}
	c := tfChecker(
		map[string]*fakeTFWorkspace{"broken": broken, "ok": ok},
		map[string]error{
			"off":    fmt.Errorf("open: %w", &drift.SkipError{Reason: "driftDetection is off for the TERRAFORM platform provider tf"}),
			"noinit": errors.New("terraform init in /repo/infra/noinit: backend not reachable"),
		},
		&released)
	var progress []string
	var mu sync.Mutex
	c.Progress = func(app string, st drift.Status, _ time.Duration) {
		mu.Lock()
		progress = append(progress, app+"="+string(st))
		mu.Unlock()
	}
	out := c.Check(context.Background(), []*config.App{tfApp("off"), tfApp("noinit"), tfApp("broken"), tfApp("ok")})
	got := map[string]drift.AppResult{}
	for _, r := range out.Apps {
		got[r.App] = r
	}
	if r := got["off"]; r.Status != drift.Skipped || r.Reason != "driftDetection is off for the TERRAFORM platform provider tf" || r.Error != "" {
		t.Errorf("off: %+v", r)
	}
	if r := got["noinit"]; r.Status != drift.Failed || !strings.Contains(r.Error, "backend not reachable") {
		t.Errorf("noinit: %+v", r)
	}
	if r := got["broken"]; r.Status != drift.Failed || !strings.Contains(r.Error, "Unsupported block type") || len(r.Drift) != 0 {
		t.Errorf("broken: %+v", r)
	}
	if r := got["ok"]; r.Status != drift.InSync {
		t.Errorf("ok: %+v", r)
	}
	// Only the workspaces that opened are released.
	if released != 2 {
		t.Errorf("released %d workspaces, want 2", released)
	}
	if !out.Failed() || out.Drifted() || out.Stats.Apps != 4 || out.Stats.ListCalls != 0 {
		t.Errorf("report failed=%v drifted=%v stats %+v", out.Failed(), out.Drifted(), out.Stats)
	}
	if len(progress) != 4 {
		t.Errorf("progress %v", progress)
	}
}

func TestTerraformWithoutTerraformSkips(t *testing.T) {
	out := (&drift.Checker{}).Check(context.Background(), []*config.App{tfApp("net")})
	if r := out.Apps[0]; r.Status != drift.Skipped || !strings.Contains(r.Reason, "drift detection of a TerraformApp is not supported") {
		t.Errorf("result %+v", r)
	}
}

func TestTerraformSkipErrorText(t *testing.T) {
	if got := (&drift.SkipError{Reason: "off"}).Error(); got != "skipped: off" {
		t.Errorf("error %q", got)
	}
}

func TestTerraformPendingImportAndForget(t *testing.T) {
	// An import block and a removed block (lifecycle destroy = false)
	// change nothing in the infrastructure, but a sync would change the
	// state: the application is not in sync.
	r := checkOne(t, &DriftReport{
		Pending: []ResourceChange{
			{Address: "aws_s3_bucket.legacy", Actions: []string{ActionImport}, ImportID: "legacy-bucket"},
			{Address: "aws_s3_bucket.handed_over", Actions: []string{ActionForget}},
		},
		Counts: Counts{Import: 1},
	})
	if r.Status != drift.OutOfSync || r.Added != 1 || r.Deleted != 1 || r.Objects != 2 {
		t.Fatalf("result %+v", r)
	}
	byKey := driftByKey(r)
	if d := byKey["aws_s3_bucket.legacy"]; d.Action != drift.ActionAdded || !strings.Contains(d.Note, "a sync would import it") {
		t.Errorf("import %+v", d)
	}
	if d := byKey["aws_s3_bucket.handed_over"]; d.Action != drift.ActionDeleted || !strings.Contains(d.Note, "a sync would remove it from the state") {
		t.Errorf("forget %+v", d)
	}
}

func TestTerraformPendingOutputDirection(t *testing.T) {
	// A sync would set the output from the state's value (live) to the
	// configuration's (Git).
	r := checkOne(t, &DriftReport{PendingOutputs: []OutputChange{
		{Name: "replicas", Action: ActionUpdate, Before: float64(2), After: float64(3)},
	}})
	want := []drift.FieldDiff{{Path: "replicas", Op: drift.FieldChanged, Git: float64(3), Live: float64(2)}}
	if len(r.Drift) != 1 || !reflect.DeepEqual(r.Drift[0].Fields, want) {
		t.Errorf("drift %+v, want fields %+v", r.Drift, want)
	}
}
