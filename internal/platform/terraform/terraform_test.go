package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/testenv/tfbin"
)

// The tests run every scenario against both flavors, with the binaries
// tfbin builds and a clean environment.

type flavor struct {
	name string
	path string
}

func flavors(t *testing.T) []flavor {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the terraform and tofu binaries (tfbin); skipped with -short")
	}
	b := tfbin.ForTest(t)
	return []flavor{{FlavorTerraform, b.Terraform}, {FlavorTofu, b.Tofu}}
}

func eachFlavor(t *testing.T, f func(t *testing.T, bin *Binary, env []string)) {
	for _, fl := range flavors(t) {
		t.Run(fl.name, func(t *testing.T) {
			env := tfbin.Env(t)
			bin, err := FindBinary(ctx(t), FindOptions{Binary: fl.path, Env: env})
			if err != nil {
				t.Fatal(err)
			}
			if bin.Flavor != fl.name {
				t.Fatalf("flavor of %s = %q, want %q", fl.path, bin.Flavor, fl.name)
			}
			f(t, bin, env)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

// app is an application directory with a workspace over it.
type app struct {
	t   *testing.T
	dir string
	bin *Binary
	env []string
	out bytes.Buffer // narration
	log []string
	mu  sync.Mutex
}

func newApp(t *testing.T, bin *Binary, env []string, files map[string]string) *app {
	a := &app{t: t, dir: t.TempDir(), bin: bin, env: env}
	a.write(files)
	return a
}

func (a *app) write(files map[string]string) {
	a.t.Helper()
	for name, body := range files {
		p := filepath.Join(a.dir, name)
		if body == "" {
			_ = os.Remove(p)
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			a.t.Fatal(err)
		}
	}
}

func (a *app) open(in config.TerraformDeploymentInput, mod ...func(*Options)) *Workspace {
	a.t.Helper()
	w, err := a.tryOpen(in, mod...)
	if err != nil {
		a.t.Fatal(err)
	}
	return w
}

func (a *app) tryOpen(in config.TerraformDeploymentInput, mod ...func(*Options)) (*Workspace, error) {
	o := Options{Env: a.env, Stdout: &lockedWriter{a: a}, Stderr: &lockedWriter{a: a}, Log: func(f string, args ...any) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.log = append(a.log, sprintf(f, args...))
	}}
	for _, m := range mod {
		m(&o)
	}
	return Open(a.bin, a.dir, in, o)
}

type lockedWriter struct{ a *app }

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.a.mu.Lock()
	defer l.a.mu.Unlock()
	return l.a.out.Write(p)
}

func (a *app) narration() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.out.String()
}

func (a *app) plan(w *Workspace, opts PlanOptions) *Plan {
	a.t.Helper()
	if opts.Out == "" {
		opts.Out = filepath.Join(a.t.TempDir(), "plan.tfplan")
	}
	p, err := w.Plan(ctx(a.t), opts)
	if err != nil {
		a.t.Fatalf("plan: %v\nnarration:\n%s", err, a.narration())
	}
	return p
}

func (a *app) deploy(w *Workspace) *Plan {
	a.t.Helper()
	p := a.plan(w, PlanOptions{})
	if err := w.Apply(ctx(a.t), p.File); err != nil {
		a.t.Fatalf("apply: %v", err)
	}
	return p
}

const secret = "s3cr3t-hunter2-value"

const mainTF = `
variable "name" {
  type = string
}

variable "password" {
  type      = string
  sensitive = true
  default   = "` + secret + `"
}

locals {
  greeting = "hello ${var.name}"
}

resource "terraform_data" "app" {
  input = {
    name     = var.name
    greeting = local.greeting
    password = var.password
  }
}

resource "terraform_data" "pinned" {
  triggers_replace = [var.name]
  input            = "pinned"
}

output "greeting" {
  value = local.greeting
}

output "password" {
  value     = var.password
  sensitive = true
}
`

func vars(kv ...string) config.TerraformDeploymentInput {
	return config.TerraformDeploymentInput{Vars: kv}
}

func byAddress(p []ResourceChange, addr string) *ResourceChange {
	for i := range p {
		if p[i].Address == addr {
			return &p[i]
		}
	}
	return nil
}

func TestLifecycle(t *testing.T) {
	eachFlavor(t, func(t *testing.T, bin *Binary, env []string) {
		a := newApp(t, bin, env, map[string]string{"main.tf": mainTF})
		w := a.open(vars("name=one"))
		if err := w.Init(ctx(t)); err != nil {
			t.Fatal(err)
		}

		// First deploy: two adds.
		first := a.plan(w, PlanOptions{})
		if !first.HasChanges || first.Counts != (Counts{Add: 2}) {
			t.Fatalf("first plan: HasChanges=%v Counts=%+v, want 2 adds", first.HasChanges, first.Counts)
		}
		if r := byAddress(first.Resources, "terraform_data.app"); r == nil || r.Actions[0] != ActionCreate {
			t.Fatalf("first plan resources = %+v, want terraform_data.app created", first.Resources)
		}
		for _, want := range []string{"# terraform_data.app will be created", "Plan: 2 to add, 0 to change, 0 to destroy.", "Changes to Outputs:"} {
			if !strings.Contains(first.Human, want) {
				t.Errorf("Human lacks %q:\n%s", want, first.Human)
			}
		}
		for _, unwanted := range []string{"used the selected providers", "Note: You didn't use the -out option", "Saved the plan to", "─────"} {
			if strings.Contains(first.Human, unwanted) {
				t.Errorf("Human keeps %q:\n%s", unwanted, first.Human)
			}
		}
		again := a.plan(w, PlanOptions{})
		if again.Fingerprint != first.Fingerprint {
			t.Errorf("two plans of the same change: fingerprints %s and %s", first.Fingerprint, again.Fingerprint)
		}
		if err := w.Apply(ctx(t), first.File); err != nil {
			t.Fatal(err)
		}

		// No change.
		none := a.plan(w, PlanOptions{})
		if none.HasChanges || len(none.Resources) != 0 || none.Counts != (Counts{}) {
			t.Fatalf("no-change plan: HasChanges=%v Resources=%+v Counts=%+v", none.HasChanges, none.Resources, none.Counts)
		}
		if !strings.Contains(none.Human, "No changes.") {
			t.Errorf("no-change Human = %q", none.Human)
		}

		// A change: name two updates app in place and replaces pinned.
		w2 := a.open(vars("name=two"))
		change := a.plan(w2, PlanOptions{})
		if change.Counts != (Counts{Add: 1, Change: 1, Destroy: 1, Replace: 1}) {
			t.Fatalf("change plan counts = %+v", change.Counts)
		}
		if change.Fingerprint == first.Fingerprint || change.Fingerprint == none.Fingerprint {
			t.Errorf("different changes share a fingerprint %s", change.Fingerprint)
		}
		upd := byAddress(change.Resources, "terraform_data.app")
		if upd == nil || strings.Join(upd.Actions, ",") != ActionUpdate {
			t.Fatalf("terraform_data.app change = %+v, want update", upd)
		}
		var nameAttr *AttributeChange
		for i := range upd.Attributes {
			if upd.Attributes[i].Path == "input.name" {
				nameAttr = &upd.Attributes[i]
			}
		}
		if nameAttr == nil || nameAttr.Before != "one" || nameAttr.After != "two" {
			t.Errorf("attributes of terraform_data.app = %+v, want input.name one -> two", upd.Attributes)
		}
		rep := byAddress(change.Resources, "terraform_data.pinned")
		if rep == nil || rep.Actions[0] != ActionReplace || rep.Reason != "replace_because_cannot_update" {
			t.Fatalf("terraform_data.pinned change = %+v, want replace_because_cannot_update", rep)
		}
		if d := change.Destroys(); len(d) != 1 || d[0] != "terraform_data.pinned" {
			t.Errorf("Destroys() = %v", d)
		}
		if !strings.Contains(change.Human, "must be replaced") || !strings.Contains(change.Human, "Plan: 1 to add, 1 to change, 1 to destroy.") {
			t.Errorf("change Human:\n%s", change.Human)
		}
		if err := w2.Apply(ctx(t), change.File); err != nil {
			t.Fatal(err)
		}

		// A destroy: the pinned resource removed from the configuration.
		a.write(map[string]string{"main.tf": strings.Replace(mainTF, `resource "terraform_data" "pinned" {
  triggers_replace = [var.name]
  input            = "pinned"
}`, "", 1)})
		del := a.plan(w2, PlanOptions{})
		if del.Counts != (Counts{Destroy: 1}) {
			t.Fatalf("destroy plan counts = %+v", del.Counts)
		}
		r := byAddress(del.Resources, "terraform_data.pinned")
		if r == nil || r.Actions[0] != ActionDelete || r.Reason != "delete_because_no_resource_config" {
			t.Fatalf("destroy plan resource = %+v", r)
		}
		if d := del.Destroys(); len(d) != 1 || d[0] != "terraform_data.pinned" {
			t.Errorf("Destroys() = %v", d)
		}
		if err := w2.Apply(ctx(t), del.File); err != nil {
			t.Fatal(err)
		}

		// -destroy plans everything away.
		all := a.plan(w2, PlanOptions{Destroy: true})
		if all.Counts.Destroy != 1 || !all.Destroy {
			t.Errorf("destroy-mode plan = %+v", all.Counts)
		}

		// Narration streamed terraform's human output.
		if !strings.Contains(a.narration(), "Apply complete!") {
			t.Errorf("narration lacks apply output:\n%s", a.narration())
		}
	})
}

func TestSensitiveMasked(t *testing.T) {
	eachFlavor(t, func(t *testing.T, bin *Binary, env []string) {
		a := newApp(t, bin, env, map[string]string{"main.tf": mainTF})
		w := a.open(vars("name=one"))
		if err := w.Init(ctx(t)); err != nil {
			t.Fatal(err)
		}
		p := a.deploy(w)
		// Change the secret too: the update must show it changed, masked.
		w2 := a.open(vars("name=two", "password=another-secret-value"))
		p2 := a.plan(w2, PlanOptions{})
		for _, pl := range []*Plan{p, p2} {
			js, err := json.Marshal(pl)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{secret, "another-secret-value"} {
				if strings.Contains(string(js), s) {
					t.Errorf("plan data shows a sensitive value: %s", js)
				}
				if strings.Contains(pl.Human, s) {
					t.Errorf("Human shows a sensitive value:\n%s", pl.Human)
				}
			}
			if !strings.Contains(pl.Human, "(sensitive value)") {
				t.Errorf("Human shows no (sensitive value) marker:\n%s", pl.Human)
			}
		}
		for _, s := range []string{secret, "another-secret-value"} {
			if strings.Contains(a.narration(), s) {
				t.Errorf("narration shows a sensitive value")
			}
		}
		r := byAddress(p2.Resources, "terraform_data.app")
		if r == nil {
			t.Fatalf("no terraform_data.app change in %+v", p2.Resources)
		}
		var pw *AttributeChange
		for i := range r.Attributes {
			if r.Attributes[i].Path == "input.password" {
				pw = &r.Attributes[i]
			}
		}
		if pw == nil || !pw.Sensitive || pw.Before != SensitiveValue || pw.After != SensitiveValue {
			t.Errorf("input.password change = %+v, want a masked sensitive change", pw)
		}
		var out *OutputChange
		for i := range p2.Outputs {
			if p2.Outputs[i].Name == "password" {
				out = &p2.Outputs[i]
			}
		}
		if out == nil || !out.Sensitive || out.After != SensitiveValue {
			t.Errorf("password output change = %+v, want sensitive", out)
		}
		// A changed secret changes the fingerprint, without entering it.
		p3 := a.plan(a.open(vars("name=two", "password=a-third-secret-value")), PlanOptions{})
		if p3.Fingerprint == p2.Fingerprint {
			t.Log("fingerprints of plans differing only by the new secret value are equal (by design: secrets enter only as changed/unchanged)")
		}
		p4 := a.plan(a.open(vars("name=two")), PlanOptions{})
		if p4.Fingerprint == p2.Fingerprint {
			t.Errorf("a plan changing the secret and one not changing it share fingerprint %s", p2.Fingerprint)
		}
	})
}

func TestApplyFailure(t *testing.T) {
	eachFlavor(t, func(t *testing.T, bin *Binary, env []string) {
		a := newApp(t, bin, env, map[string]string{"main.tf": `
variable "value" {
  type = string
}

resource "terraform_data" "checked" {
  input = var.value

  lifecycle {
    postcondition {
      condition     = self.output != "boom"
      error_message = "The value must not be boom."
    }
  }
}
`})
		w := a.open(vars("value=boom"))
		if err := w.Init(ctx(t)); err != nil {
			t.Fatal(err)
		}
		p := a.plan(w, PlanOptions{}) // output is unknown at plan time
		err := w.Apply(ctx(t), p.File)
		if !errors.Is(err, ErrApplyFailed) {
			t.Fatalf("apply error = %v, want ErrApplyFailed", err)
		}
		msg := err.Error()
		for _, want := range []string{"main.tf line", "The value must not be boom.", "plan again"} {
			if !strings.Contains(msg, want) {
				t.Errorf("apply error lacks %q: %s", want, msg)
			}
		}
	})
}

// editState changes the local state out of band: the input and output of
// terraform_data.app get name=tampered, and the serial goes up.
func editState(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, "terraform.tfstate")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	st["serial"] = st["serial"].(float64) + 1
	edited := false
	for _, r := range st["resources"].([]any) {
		r := r.(map[string]any)
		if r["name"] != "app" {
			continue
		}
		attrs := r["instances"].([]any)[0].(map[string]any)["attributes"].(map[string]any)
		for _, k := range []string{"input", "output"} {
			attrs[k].(map[string]any)["value"].(map[string]any)["name"] = "tampered"
		}
		edited = true
	}
	if !edited {
		t.Fatalf("no terraform_data.app in the state:\n%s", b)
	}
	out, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDrift(t *testing.T) {
	eachFlavor(t, func(t *testing.T, bin *Binary, env []string) {
		a := newApp(t, bin, env, map[string]string{"main.tf": mainTF})
		w := a.open(vars("name=one"))
		if err := w.Init(ctx(t)); err != nil {
			t.Fatal(err)
		}
		a.deploy(w)
		clean, err := w.Drift(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if clean.HasDrift() {
			t.Fatalf("drift right after apply: %+v", clean)
		}

		editState(t, a.dir)
		d, err := w.Drift(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if !d.HasDrift() {
			t.Fatalf("no drift after editing the state")
		}
		// terraform_data is not read back from anywhere, so the refresh
		// finds no resource drift; the plan shows the state differing from
		// the configuration.
		r := byAddress(d.Pending, "terraform_data.app")
		if r == nil {
			t.Fatalf("Pending = %+v, want terraform_data.app", d.Pending)
		}
		found := false
		for _, at := range r.Attributes {
			if at.Path == "input.name" && at.Before == "tampered" && at.After == "one" {
				found = true
			}
			if strings.Contains(jsonString(at), secret) {
				t.Errorf("drift attribute shows the secret: %+v", at)
			}
		}
		if !found {
			t.Errorf("attributes = %+v, want input.name tampered -> one", r.Attributes)
		}
		if len(d.Changed) != 0 {
			t.Logf("refresh-only drift: %+v", d.Changed)
		}
		if strings.Contains(d.PlanHuman+d.RefreshHuman, secret) {
			t.Errorf("drift rendering shows the secret")
		}
		if !strings.Contains(d.PlanHuman, "tampered") {
			t.Errorf("PlanHuman lacks the drifted value:\n%s", d.PlanHuman)
		}
	})
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestStalePlan(t *testing.T) {
	eachFlavor(t, func(t *testing.T, bin *Binary, env []string) {
		a := newApp(t, bin, env, map[string]string{"main.tf": mainTF})
		w := a.open(vars("name=one"))
		if err := w.Init(ctx(t)); err != nil {
			t.Fatal(err)
		}
		a.deploy(w)
		old := a.plan(a.open(vars("name=two")), PlanOptions{})
		a.deploy(a.open(vars("name=three")))
		err := w.Apply(ctx(t), old.File)
		if !errors.Is(err, ErrStalePlan) {
			t.Fatalf("applying a stale plan: %v, want ErrStalePlan", err)
		}
		if !strings.Contains(err.Error(), "make a new plan") {
			t.Errorf("stale plan error gives no advice: %v", err)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	eachFlavor(t, func(t *testing.T, bin *Binary, env []string) {
		t.Run("invalid HCL", func(t *testing.T) {
			a := newApp(t, bin, env, map[string]string{"main.tf": "resource \"terraform_data\" \"x\" {\n  input = \n}\n\nthis is not hcl\n"})
			w := a.open(config.TerraformDeploymentInput{})
			err := w.Init(ctx(t))
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("init error = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), "main.tf line ") {
				t.Errorf("error has no file:line: %v", err)
			}
			var e *Error
			located := false
			if errors.As(err, &e) {
				for _, d := range e.Diagnostics {
					located = located || d.File == "main.tf" && d.Line > 0
				}
			}
			if !located {
				t.Errorf("no diagnostic located in main.tf: %+v", e)
			}
			if strings.Count(err.Error(), `Blocks of type "this" are not expected here.`) != 1 {
				t.Errorf("duplicate diagnostics are not merged: %v", err)
			}
		})
		t.Run("missing variable", func(t *testing.T) {
			a := newApp(t, bin, env, map[string]string{"main.tf": mainTF})
			w := a.open(config.TerraformDeploymentInput{})
			if err := w.Init(ctx(t)); err != nil {
				t.Fatal(err)
			}
			_, err := w.Plan(ctx(t), PlanOptions{Out: filepath.Join(t.TempDir(), "p")})
			var e *Error
			if !errors.Is(err, ErrMissingVariable) || !errors.As(err, &e) {
				t.Fatalf("plan error = %v, want ErrMissingVariable", err)
			}
			if len(e.Variables) != 1 || e.Variables[0] != "name" || !strings.Contains(err.Error(), `input.vars ("name=...")`) {
				t.Errorf("missing variable error = %v (variables %v)", err, e.Variables)
			}
		})
		t.Run("var file", func(t *testing.T) {
			a := newApp(t, bin, env, map[string]string{"main.tf": mainTF, "prod.tfvars": "name = \"from-file\"\n"})
			w := a.open(config.TerraformDeploymentInput{VarFiles: []string{"prod.tfvars"}})
			if err := w.Init(ctx(t)); err != nil {
				t.Fatal(err)
			}
			p := a.plan(w, PlanOptions{})
			if r := byAddress(p.Resources, "terraform_data.app"); r == nil || !strings.Contains(jsonString(r.After), "from-file") {
				t.Errorf("var file not used: %+v", r)
			}
			if _, err := a.tryOpen(config.TerraformDeploymentInput{VarFiles: []string{"missing.tfvars"}}); err == nil || !strings.Contains(err.Error(), "input.varFiles[0]") {
				t.Errorf("missing var file: %v", err)
			}
		})
		t.Run("no config", func(t *testing.T) {
			a := newApp(t, bin, env, nil)
			w := a.open(config.TerraformDeploymentInput{})
			if err := w.Init(ctx(t)); err != nil {
				t.Fatal(err)
			}
			_, err := w.Plan(ctx(t), PlanOptions{Out: filepath.Join(t.TempDir(), "p")})
			if !errors.Is(err, ErrNoConfig) {
				t.Fatalf("plan of an empty dir: %v, want ErrNoConfig", err)
			}
		})
	})
}

func TestWorkspaces(t *testing.T) {
	eachFlavor(t, func(t *testing.T, bin *Binary, env []string) {
		a := newApp(t, bin, env, map[string]string{"main.tf": mainTF})
		in := vars("name=one")
		in.Workspace = "staging"
		err := a.open(in).Init(ctx(t))
		if !errors.Is(err, ErrNoWorkspace) || !strings.Contains(err.Error(), "workspace new staging") {
			t.Fatalf("init with a missing workspace: %v, want ErrNoWorkspace", err)
		}
		w := a.open(in, func(o *Options) { o.CreateWorkspace = true })
		if err := w.Init(ctx(t)); err != nil {
			t.Fatal(err)
		}
		a.deploy(w)
		if _, err := os.Stat(filepath.Join(a.dir, "terraform.tfstate.d", "staging", "terraform.tfstate")); err != nil {
			t.Errorf("state not in the staging workspace: %v", err)
		}
		// The default workspace is empty: planning there adds everything.
		d := a.open(vars("name=one"))
		if err := d.Init(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if p := a.plan(d, PlanOptions{}); p.Counts.Add != 2 {
			t.Errorf("default workspace plan = %+v", p.Counts)
		}
		// Back to staging without creating.
		if err := a.open(in).Init(ctx(t)); err != nil {
			t.Fatalf("selecting the existing workspace: %v", err)
		}
		if p := a.plan(a.open(in), PlanOptions{}); p.HasChanges {
			t.Errorf("staging plan has changes: %+v", p.Counts)
		}
	})
}

// holdStateLock locks dir/terraform.tfstate the way the local backend does
// (fcntl) and writes the lock info terraform shows.
func holdStateLock(t *testing.T, dir string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "terraform.tfstate"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	lk := &syscall.Flock_t{Type: syscall.F_WRLCK, Whence: int16(io.SeekStart)}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, lk); err != nil {
		t.Fatal(err)
	}
	info := `{"ID":"5e0c3f1a-1111-2222-3333-444455556666","Operation":"OperationTypeApply","Info":"","Who":"alice@ci-runner","Version":"1.11.4","Created":"2026-01-01T00:00:00Z","Path":"terraform.tfstate"}`
	if err := os.WriteFile(filepath.Join(dir, ".terraform.tfstate.lock.info"), []byte(info), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		lk.Type = syscall.F_UNLCK
		_ = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, lk)
		f.Close()
		os.Remove(filepath.Join(dir, ".terraform.tfstate.lock.info"))
	})
}

func TestStateLocked(t *testing.T) {
	eachFlavor(t, func(t *testing.T, bin *Binary, env []string) {
		a := newApp(t, bin, env, map[string]string{"main.tf": mainTF})
		// The flags reach the binary: a 1s lock timeout makes plan wait.
		in := vars("name=one")
		in.CommandFlags = config.TerraformCommandFlags{
			Shared: []string{"-lock-timeout=1s", "-parallelism=2"},
			Init:   []string{"-upgrade"},
			Plan:   []string{"-refresh=true"},
			Apply:  []string{"-lock=true"},
		}
		w := a.open(in)
		if err := w.Init(ctx(t)); err != nil {
			t.Fatal(err)
		}
		a.deploy(w)
		holdStateLock(t, a.dir)
		start := time.Now()
		_, err := w.Plan(ctx(t), PlanOptions{Out: filepath.Join(t.TempDir(), "p")})
		var e *Error
		if !errors.Is(err, ErrStateLocked) || !errors.As(err, &e) {
			t.Fatalf("plan with a held lock: %v, want ErrStateLocked", err)
		}
		if waited := time.Since(start); waited < time.Second {
			t.Errorf("plan gave up after %v despite -lock-timeout=1s", waited)
		}
		if e.LockID != "5e0c3f1a-1111-2222-3333-444455556666" || e.LockWho != "alice@ci-runner" {
			t.Errorf("lock holder = %q %q", e.LockID, e.LockWho)
		}
		if !strings.Contains(err.Error(), "force-unlock 5e0c3f1a-1111-2222-3333-444455556666") {
			t.Errorf("lock error gives no unlock command: %v", err)
		}
	})
}

func TestParallelInitSharedCache(t *testing.T) {
	eachFlavor(t, func(t *testing.T, bin *Binary, env []string) {
		cache := t.TempDir()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		apps := make([]*app, 2)
		for i := range apps {
			apps[i] = newApp(t, bin, env, map[string]string{"main.tf": mainTF})
		}
		for i, a := range apps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, err := a.tryOpen(vars("name=one"), func(o *Options) { o.PluginCacheDir = cache })
				if err == nil {
					err = w.Init(ctx(t))
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("init %d: %v", i, err)
			}
		}
		if _, err := os.Stat(filepath.Join(cache, lockFileName)); err != nil {
			t.Errorf("no lock file in the plugin cache: %v", err)
		}
	})
}

func TestFindBinary(t *testing.T) {
	fl := flavors(t)
	env := tfbin.Env(t)
	// A PATH holding only the tofu binary's directory.
	var tofu, terraform string
	for _, f := range fl {
		if f.name == FlavorTofu {
			tofu = f.path
		} else {
			terraform = f.path
		}
	}
	pathEnv := func(dirs ...string) []string {
		out := []string{}
		for _, kv := range env {
			if !strings.HasPrefix(kv, "PATH=") {
				out = append(out, kv)
			}
		}
		return append(out, "PATH="+strings.Join(dirs, string(os.PathListSeparator)))
	}
	t.Run("PATH order", func(t *testing.T) {
		e := pathEnv(filepath.Dir(tofu), filepath.Dir(terraform))
		b, err := FindBinary(ctx(t), FindOptions{Env: e})
		if err != nil || b.Flavor != FlavorTerraform || b.Path != terraform {
			t.Fatalf("default lookup = %v, %v; want terraform first", b, err)
		}
		b, err = FindBinary(ctx(t), FindOptions{Env: e, PreferTofu: true})
		if err != nil || b.Flavor != FlavorTofu || b.Path != tofu {
			t.Fatalf("PreferTofu lookup = %v, %v", b, err)
		}
		b, err = FindBinary(ctx(t), FindOptions{Env: pathEnv(filepath.Dir(tofu))})
		if err != nil || b.Flavor != FlavorTofu {
			t.Fatalf("tofu-only PATH = %v, %v", b, err)
		}
		if b.Version.String() != strings.TrimPrefix(tfbin.TofuVersion, "v") {
			t.Errorf("tofu version = %s", b.Version)
		}
	})
	t.Run("missing", func(t *testing.T) {
		empty := t.TempDir()
		_, err := FindBinary(ctx(t), FindOptions{Env: pathEnv(empty)})
		if !errors.Is(err, ErrBinaryNotFound) || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), "install") {
			t.Fatalf("lookup in an empty PATH: %v", err)
		}
		_, err = FindBinary(ctx(t), FindOptions{Binary: "/nonexistent/terraform", BinarySource: "--terraform-binary", Env: env})
		if !errors.Is(err, ErrBinaryNotFound) || !strings.Contains(err.Error(), "--terraform-binary") {
			t.Fatalf("explicit missing binary: %v", err)
		}
	})
	t.Run("version constraint", func(t *testing.T) {
		for _, c := range []string{"1.11.4", "~> 1.11.0", ">= 1.5", ""} {
			if _, err := FindBinary(ctx(t), FindOptions{Binary: terraform, Env: env, VersionConstraint: c}); err != nil {
				t.Errorf("constraint %q: %v", c, err)
			}
		}
		_, err := FindBinary(ctx(t), FindOptions{Binary: terraform, Env: env, VersionConstraint: "~> 1.12", ConstraintSource: "apps/net/app.pipecd.yaml"})
		if !errors.Is(err, ErrVersionMismatch) {
			t.Fatalf("wrong version: %v", err)
		}
		for _, want := range []string{"terraform 1.11.4 at " + terraform, "~> 1.12", "apps/net/app.pipecd.yaml", "put it first in PATH"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("version error lacks %q: %v", want, err)
			}
		}
		if _, err := FindBinary(ctx(t), FindOptions{Binary: terraform, Env: env, VersionConstraint: "one point two"}); err == nil || !strings.Contains(err.Error(), "not a version") {
			t.Errorf("bad constraint: %v", err)
		}
	})
}
