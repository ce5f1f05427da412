package terraform

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-version"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/gitops-pipe/pipe/internal/config"
)

func TestParseFlags(t *testing.T) {
	f, err := parseFlags(
		[]string{"-lock-timeout=60s", "-parallelism=4", "-no-color"},
		[]string{"-upgrade", "-backend-config=bucket=b", "-backend-config=key=k"},
		[]string{"--target=terraform_data.a", "-refresh=false", "-var=extra=1"},
		[]string{"-lock=false"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if f[cmdInit].lockTimeout != "" || f[cmdPlan].lockTimeout != "60s" || f[cmdApply].lockTimeout != "60s" {
		t.Errorf("shared -lock-timeout not on every command: %+v %+v %+v", f[cmdInit], f[cmdPlan], f[cmdApply])
	}
	if f[cmdInit].parallelism != 0 || f[cmdPlan].parallelism != 4 || f[cmdApply].parallelism != 4 {
		t.Errorf("shared -parallelism: init %d plan %d apply %d", f[cmdInit].parallelism, f[cmdPlan].parallelism, f[cmdApply].parallelism)
	}
	if !f[cmdInit].upgrade || !reflect.DeepEqual(f[cmdInit].backendConfigs, []string{"bucket=b", "key=k"}) {
		t.Errorf("init flags = %+v", f[cmdInit])
	}
	if !reflect.DeepEqual(f[cmdPlan].targets, []string{"terraform_data.a"}) || f[cmdPlan].refresh == nil || *f[cmdPlan].refresh || !reflect.DeepEqual(f[cmdPlan].vars, []string{"extra=1"}) {
		t.Errorf("plan flags = %+v", f[cmdPlan])
	}
	if f[cmdApply].lock == nil || *f[cmdApply].lock {
		t.Errorf("apply flags = %+v", f[cmdApply])
	}
	if n := len(f[cmdInit].initOptions()); n != 3 {
		t.Errorf("init options = %d, want 3", n)
	}
	if n := len(f[cmdPlan].planOptions()); n != 5 {
		t.Errorf("plan options = %d, want 5", n)
	}

	for _, c := range []struct {
		shared, init, plan, apply []string
		want                      string
	}{
		{init: []string{"-lock-timeout=5s"}, want: `does not pass this flag to init`},
		{plan: []string{"-upgrade"}, want: `input.commandFlags.plan[0] "-upgrade": pipe runs terraform through terraform-exec, which does not pass this flag to plan; supported: -lock, -lock-timeout, -parallelism, -refresh, -replace, -target, -var, -var-file`},
		{shared: []string{"-json"}, want: `input.commandFlags.shared[0] "-json": pipe runs terraform through terraform-exec`},
		{apply: []string{"-lock-timeout=soon"}, want: `input.commandFlags.apply[0] "-lock-timeout": "soon" is not a duration`},
		{init: []string{"upgrade"}, want: `input.commandFlags.init[0] "upgrade": not a flag`},
		{plan: []string{"-target"}, want: `needs a value`},
		{plan: []string{"-var=secretvalue"}, want: `write -var=name=value`},
		{apply: []string{"-parallelism=0"}, want: `not a positive number`},
	} {
		_, err := parseFlags(c.shared, c.init, c.plan, c.apply)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseFlags(%v %v %v %v) = %v, want %q", c.shared, c.init, c.plan, c.apply, err, c.want)
		}
	}
}

func TestOpenValidates(t *testing.T) {
	dir := t.TempDir()
	bin := &Binary{Path: "/bin/true", Flavor: FlavorTerraform, Version: version.Must(version.NewVersion("1.11.4"))}
	for _, c := range []struct {
		in   config.TerraformDeploymentInput
		want string
	}{
		{config.TerraformDeploymentInput{CommandEnvs: config.TerraformCommandEnvs{Plan: []string{"TF_VAR_password=hunter2-secret"}}},
			`input.commandEnvs.plan[0]: TF_VAR_password cannot be set: terraform-exec manages it; set the variable with input.vars ("password=...")`},
		{config.TerraformDeploymentInput{CommandEnvs: config.TerraformCommandEnvs{Shared: []string{"TF_CLI_ARGS_plan=-x"}}}, "use input.commandFlags instead"},
		{config.TerraformDeploymentInput{CommandEnvs: config.TerraformCommandEnvs{Apply: []string{"novalue"}}}, "input.commandEnvs.apply[0]: not NAME=value"},
		{config.TerraformDeploymentInput{Vars: []string{"noequals"}}, `input.vars[0] "noequals" is not name=value`},
		{config.TerraformDeploymentInput{VarFiles: []string{"nope.tfvars"}}, `input.varFiles[0] "nope.tfvars"`},
		{config.TerraformDeploymentInput{CommandFlags: config.TerraformCommandFlags{Apply: []string{"-target=x"}}}, "does not pass this flag to apply"},
	} {
		_, err := Open(bin, dir, c.in, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%+v) = %v, want %q", c.in, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2-secret") {
			t.Errorf("error shows a secret: %v", err)
		}
	}
	if _, err := Open(bin, dir+"/missing", config.TerraformDeploymentInput{}, Options{}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing dir: %v", err)
	}
	if _, err := Open(nil, dir, config.TerraformDeploymentInput{}, Options{}); err == nil {
		t.Error("Open(nil binary) succeeded")
	}

	// Environment per phase, and what is dropped.
	var logs []string
	w, err := Open(bin, dir, config.TerraformDeploymentInput{
		Workspace:   "",
		CommandEnvs: config.TerraformCommandEnvs{Shared: []string{"A=shared"}, Init: []string{"B=init"}, Plan: []string{"A=plan"}},
	}, Options{
		Env:            []string{"PATH=/bin", "TF_VAR_x=1", "TF_LOG=DEBUG", "A=base", "GITHUB_TOKEN=ghp_abcdefgh"},
		PluginCacheDir: "/cache",
		Log:            func(f string, a ...any) { logs = append(logs, sprintf(f, a...)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if w.Name() != DefaultWorkspace {
		t.Errorf("workspace = %q", w.Name())
	}
	initEnv, planEnv, applyEnv := w.phaseEnv(cmdInit), w.phaseEnv(cmdPlan), w.phaseEnv(cmdApply)
	if initEnv["A"] != "shared" || initEnv["B"] != "init" || planEnv["A"] != "plan" || applyEnv["A"] != "shared" || applyEnv["B"] != "" {
		t.Errorf("phase envs: init %v plan %v apply %v", initEnv, planEnv, applyEnv)
	}
	if _, ok := initEnv["TF_VAR_x"]; ok || initEnv["TF_PLUGIN_CACHE_DIR"] != "/cache" {
		t.Errorf("init env = %v", initEnv)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "TF_VAR_x") || strings.Contains(logs[0], "TF_LOG") {
		t.Errorf("logs = %q", logs)
	}
	if got := w.redact.apply("token ghp_abcdefgh leaked"); got != "token *** leaked" {
		t.Errorf("redacted = %q", got)
	}
}

// Diagnostics as terraform and tofu print them with -no-color.
const diagText = `exit status 1

Error: Unsupported block type

  on main.tf line 5:
   5: this is not hcl

Blocks of type "this" are not expected here.

Error: Unsupported block type

  on main.tf line 5:
   5: this is not hcl

Blocks of type "this" are not expected here.

Warning: Deprecated attribute

  on modules/x/main.tf line 12, in resource "terraform_data" "x":
  12:   input = var.old
    ├────────────────
    │ var.old is "value"

The attribute is deprecated;
use something else.

Error: Error acquiring the state lock

Error message: resource temporarily unavailable
Lock Info:
  ID:        5e0c3f1a-1111
  Path:      terraform.tfstate
  Operation: OperationTypeApply
  Who:       bob@host
`

func TestParseDiagnostics(t *testing.T) {
	d := parseDiagnostics(diagText)
	want := []Diagnostic{
		{Severity: "error", Summary: "Unsupported block type", File: "main.tf", Line: 5, Detail: `Blocks of type "this" are not expected here.`},
		{Severity: "warning", Summary: "Deprecated attribute", File: "modules/x/main.tf", Line: 12, Detail: "The attribute is deprecated; use something else."},
		{Severity: "error", Summary: "Error acquiring the state lock", Detail: "Error message: resource temporarily unavailable Lock Info: ID:        5e0c3f1a-1111 Path:      terraform.tfstate Operation: OperationTypeApply Who:       bob@host"},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("diagnostics:\n%+v\nwant\n%+v", d, want)
	}
	if s := d[0].String(); s != `main.tf line 5: Unsupported block type: Blocks of type "this" are not expected here.` {
		t.Errorf("String() = %q", s)
	}
	// Boxed rendering (without -no-color's plain form) parses the same.
	boxed := "╷\n│ Error: Saved plan is stale\n│ \n│ The given plan file can no longer be applied.\n╵\n"
	if d := parseDiagnostics(boxed); len(d) != 1 || d[0].Summary != "Saved plan is stale" || d[0].Detail != "The given plan file can no longer be applied." {
		t.Errorf("boxed: %+v", d)
	}
	if d := parseDiagnostics("no diagnostics here\n"); len(d) != 0 {
		t.Errorf("plain text: %+v", d)
	}
}

func TestTranslate(t *testing.T) {
	w := &Workspace{bin: &Binary{Flavor: FlavorTofu}, dir: "/app", redact: &redactor{}}
	w.redact.add("hunter2-secret")
	err := w.translate(cmdPlan, errors.New(diagText))
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrStateLocked) || e.LockID != "5e0c3f1a-1111" || e.LockWho != "bob@host" || e.LockOperation != "OperationTypeApply" {
		t.Fatalf("lock error = %#v", err)
	}
	if !strings.Contains(err.Error(), "tofu force-unlock 5e0c3f1a-1111") {
		t.Errorf("message: %v", err)
	}
	err = w.translate(cmdApply, errors.New("exit status 1\n\nError: failed with hunter2-secret inside\n\nbad thing hunter2-secret\n"))
	if !errors.Is(err, ErrApplyFailed) || strings.Contains(err.Error(), "hunter2-secret") {
		t.Errorf("apply error = %v", err)
	}
	err = w.translate(cmdInit, errors.New("exit status 1\nsomething odd happened\n"))
	if !strings.Contains(err.Error(), "something odd happened") {
		t.Errorf("unstructured error = %v", err)
	}
}

func TestMaskAndDiff(t *testing.T) {
	before := map[string]any{"name": "a", "pw": "old-secret", "tags": map[string]any{"env": "prod", "a b": "x"}, "list": []any{"x", "y"}}
	after := map[string]any{"name": "b", "pw": "new-secret", "tags": map[string]any{"env": "prod", "a b": "z"}, "list": []any{"x", "y"}}
	bs := map[string]any{"pw": true}
	as := map[string]any{"pw": true}
	au := map[string]any{"id": true}
	mb := maskValue(before, bs, nil)
	ma := maskValue(after, as, au)
	if mb.(map[string]any)["pw"] != SensitiveValue || ma.(map[string]any)["id"] != UnknownValue {
		t.Fatalf("masked: %v / %v", mb, ma)
	}
	var got []AttributeChange
	diffValues("", mb, ma, before, after, &got)
	want := []AttributeChange{
		{Path: "id", Before: nil, After: UnknownValue, Unknown: true},
		{Path: "name", Before: "a", After: "b"},
		{Path: "pw", Before: SensitiveValue, After: SensitiveValue, Sensitive: true},
		{Path: `tags["a b"]`, Before: "x", After: "z"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diff:\n%+v\nwant\n%+v", got, want)
	}
	// Whole value sensitive; secret copies elsewhere masked.
	if v := maskValue([]any{"a"}, true, nil); v != SensitiveValue {
		t.Errorf("whole sensitive = %v", v)
	}
	secrets := map[string]bool{}
	collectSensitive(before, bs, secrets)
	if !secrets["old-secret"] || len(secrets) != 1 {
		t.Errorf("secrets = %v", secrets)
	}
	copied := maskKnownSecrets(map[string]any{"out": []any{"old-secret", "fine"}}, secrets)
	if !reflect.DeepEqual(copied, map[string]any{"out": []any{SensitiveValue, "fine"}}) {
		t.Errorf("copies = %v", copied)
	}
}

// planJSON builds a tfjson plan from terraform's JSON.
func planJSON(t *testing.T, s string) *tfjson.Plan {
	t.Helper()
	var p tfjson.Plan
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

const syntheticPlan = `{
  "format_version": "1.2",
  "timestamp": "%TS%",
  "variables": {"pw": {"value": "top-secret-var"}},
  "configuration": {"root_module": {"variables": {"pw": {"sensitive": true}}}},
  "resource_drift": [
    {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "name": "logs",
     "change": {"actions": ["update"], "before": {"acl": "private", "tags": {"k": "v"}}, "after": {"acl": "public-read", "tags": {"k": "v"}},
                "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}}}
  ],
  "resource_changes": [
    {"address": "terraform_data.b", "mode": "managed", "type": "terraform_data", "name": "b",
     "change": {"actions": ["create", "delete"], "before": {"input": "x"}, "after": {"input": "%B%"},
                "after_unknown": {"id": true}, "before_sensitive": {}, "after_sensitive": {}},
     "action_reason": "replace_because_cannot_update"},
    {"address": "terraform_data.a", "mode": "managed", "type": "terraform_data", "name": "a",
     "change": {"actions": ["no-op"], "before": {"input": "same"}, "after": {"input": "same"},
                "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {},
                "importing": {"id": "imp-1"}}},
    {"address": "terraform_data.c", "mode": "managed", "type": "terraform_data", "name": "c",
     "change": {"actions": ["update"], "before": {"input": {"pw": "top-secret-var", "n": 1}, "output": "top-secret-var"},
                "after": {"input": {"pw": "%PW%", "n": 1}}, "after_unknown": {"output": true},
                "before_sensitive": {"input": {"pw": true}}, "after_sensitive": {"input": {"pw": true}}}},
    {"address": "terraform_data.d", "mode": "managed", "type": "terraform_data", "name": "d",
     "change": {"actions": ["delete"], "before": {"input": "gone"}, "after": null,
                "after_unknown": {}, "before_sensitive": {}, "after_sensitive": false},
     "action_reason": "delete_because_no_resource_config"},
    {"address": "terraform_data.e", "mode": "managed", "type": "terraform_data", "name": "e",
     "change": {"actions": ["no-op"], "before": {"input": "%E%"}, "after": {"input": "%E%"},
                "after_unknown": {}, "before_sensitive": {}, "after_sensitive": {}}}
  ],
  "output_changes": {
    "pw": {"actions": ["update"], "before": "top-secret-var", "after": "%PW%", "after_unknown": false, "before_sensitive": true, "after_sensitive": true},
    "same": {"actions": ["no-op"], "before": "x", "after": "x", "after_unknown": false, "before_sensitive": false, "after_sensitive": false}
  }
}`

func synth(t *testing.T, ts, b, pw, e string) builtPlan {
	s := strings.NewReplacer("%TS%", ts, "%B%", b, "%PW%", pw, "%E%", e).Replace(syntheticPlan)
	return buildPlan(planJSON(t, s))
}

func TestBuildPlan(t *testing.T) {
	p := synth(t, "2026-01-01T00:00:00Z", "y", "rotated-secret", "e1")
	if p.Counts != (Counts{Import: 1, Add: 1, Change: 1, Destroy: 2, Replace: 1}) {
		t.Errorf("counts = %+v", p.Counts)
	}
	var addrs []string
	for _, r := range p.Resources {
		addrs = append(addrs, r.Address+":"+strings.Join(r.Actions, "+")+":"+r.Reason)
	}
	want := []string{
		"terraform_data.a:import:",
		"terraform_data.b:replace:replace_because_cannot_update",
		"terraform_data.c:update:",
		"terraform_data.d:delete:delete_because_no_resource_config",
	}
	if !reflect.DeepEqual(addrs, want) {
		t.Errorf("resources = %v, want %v", addrs, want)
	}
	if d := p.Destroys(); !reflect.DeepEqual(d, []string{"terraform_data.b", "terraform_data.d"}) {
		t.Errorf("Destroys() = %v", d)
	}
	if len(p.Drift) != 1 || p.Drift[0].Address != "aws_s3_bucket.logs" || len(p.Drift[0].Attributes) != 1 || p.Drift[0].Attributes[0].Path != "acl" {
		t.Errorf("drift = %+v", p.Drift)
	}
	if len(p.Outputs) != 1 || p.Outputs[0].Name != "pw" || !p.Outputs[0].Sensitive || p.Outputs[0].After != SensitiveValue {
		t.Errorf("outputs = %+v", p.Outputs)
	}
	js, _ := json.Marshal(p.Plan)
	for _, s := range []string{"top-secret-var", "rotated-secret"} {
		if bytes.Contains(js, []byte(s)) {
			t.Errorf("plan shows %q: %s", s, js)
		}
	}
	if !p.secrets["top-secret-var"] || !p.secrets["rotated-secret"] {
		t.Errorf("secrets = %v", p.secrets)
	}
}

func TestFingerprint(t *testing.T) {
	base := synth(t, "2026-01-01T00:00:00Z", "y", "rotated-secret", "e1").Fingerprint
	if !strings.HasPrefix(base, "sha256:") || len(base) != len("sha256:")+64 {
		t.Fatalf("fingerprint = %q", base)
	}
	same := []builtPlan{
		synth(t, "2027-05-05T10:00:00Z", "y", "rotated-secret", "e1"), // timestamp
		synth(t, "2026-01-01T00:00:00Z", "y", "rotated-secret", "e2"), // a no-op resource's values
		synth(t, "2026-01-01T00:00:00Z", "y", "other-rotation", "e1"), // a secret's new value (only changed/unchanged counts)
	}
	for i, p := range same {
		if p.Fingerprint != base {
			t.Errorf("case %d: fingerprint %s, want %s", i, p.Fingerprint, base)
		}
	}
	if p := synth(t, "2026-01-01T00:00:00Z", "z", "rotated-secret", "e1"); p.Fingerprint == base {
		t.Error("a different planned value has the same fingerprint")
	}
	if p := synth(t, "2026-01-01T00:00:00Z", "y", "top-secret-var", "e1"); p.Fingerprint == base {
		t.Error("a plan not changing the secret has the fingerprint of one changing it")
	}
	// Order of resource_changes does not matter.
	reordered := strings.Replace(syntheticPlan, `"resource_changes": [`, `"resource_changes": [
    {"address": "terraform_data.z", "mode": "managed", "type": "terraform_data", "name": "z",
     "change": {"actions": ["create"], "before": null, "after": {"input": "z"}, "after_unknown": {}, "before_sensitive": false, "after_sensitive": {}}},`, 1)
	appended := strings.Replace(syntheticPlan, `"output_changes"`, `"ignored": 1, "output_changes"`, 1)
	appended = strings.Replace(appended, `"resource_changes": [`, `"resource_changes": [`, 1)
	appended = strings.Replace(appended, `
  ],
  "ignored"`, `,
    {"address": "terraform_data.z", "mode": "managed", "type": "terraform_data", "name": "z",
     "change": {"actions": ["create"], "before": null, "after": {"input": "z"}, "after_unknown": {}, "before_sensitive": false, "after_sensitive": {}}}
  ],
  "ignored"`, 1)
	r := strings.NewReplacer("%TS%", "t", "%B%", "y", "%PW%", "rotated-secret", "%E%", "e1")
	f1 := buildPlan(planJSON(t, r.Replace(reordered))).Fingerprint
	f2 := buildPlan(planJSON(t, r.Replace(appended))).Fingerprint
	if f1 != f2 || f1 == base {
		t.Errorf("reordered %s, appended %s, base %s", f1, f2, base)
	}
}

func TestTrimHuman(t *testing.T) {
	raw := `
Note: Objects have changed outside of Terraform

Terraform detected the following changes made outside of Terraform since the
last "terraform apply" which may have affected this plan:

  # terraform_data.a has changed
  ~ resource "terraform_data" "a" {
        id = "1"
    }

─────────────────────────────────────────────────────────────────────────────

Terraform used the selected providers to generate the following execution
plan. Resource actions are indicated with the following symbols:
  + create
  ~ update in-place

Terraform will perform the following actions:

  # terraform_data.b will be created
  + resource "terraform_data" "b" {
      + input = "leaked-copy-of-secret"
    }

Plan: 1 to add, 0 to change, 0 to destroy.

Changes to Outputs:
  + pw = (sensitive value)

─────────────────────────────────────────────────────────────────────────────

Saved the plan to: /tmp/p

To perform exactly these actions, run the following command to apply:
    terraform apply "/tmp/p"
`
	got := trimHuman(raw, map[string]bool{"leaked-copy-of-secret": true}, &redactor{})
	want := `Note: Objects have changed outside of Terraform

Terraform detected the following changes made outside of Terraform since the
last "terraform apply" which may have affected this plan:

  # terraform_data.a has changed
  ~ resource "terraform_data" "a" {
        id = "1"
    }

  # terraform_data.b will be created
  + resource "terraform_data" "b" {
      + input = (sensitive value)
    }

Plan: 1 to add, 0 to change, 0 to destroy.

Changes to Outputs:
  + pw = (sensitive value)`
	if got != want {
		t.Errorf("trimHuman:\n%s\n---want---\n%s", got, want)
	}
	tofu := strings.NewReplacer("Terraform used", "OpenTofu used", "Terraform will", "OpenTofu will").Replace(raw)
	if got := trimHuman(tofu, map[string]bool{"leaked-copy-of-secret": true}, &redactor{}); got != want {
		t.Errorf("trimHuman (tofu):\n%s", got)
	}
}

func TestRedactWriter(t *testing.T) {
	var out bytes.Buffer
	r := &redactor{}
	r.add("abc") // too short to redact safely
	r.add("tok-123456")
	w := &redactWriter{w: &out, r: r}
	for _, chunk := range []string{"line with tok-12", "3456 split\nabc stays\npartial tok-123456"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	w.flush()
	if got := out.String(); got != "line with *** split\nabc stays\npartial ***" {
		t.Errorf("redacted output = %q", got)
	}
}

func TestLockDirExcludes(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		u2, err := lockDir(t.Context(), dir)
		if err == nil {
			u2()
		}
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("a second lock was taken while the first was held")
	case <-time.After(300 * time.Millisecond):
	}
	unlock()
	<-done
	if _, err := os.Stat(dir + "/" + lockFileName); err != nil {
		t.Error(err)
	}
}
