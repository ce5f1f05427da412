package tfbin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/gitops-pipe/pipe/internal/testenv/tfbin"
)

// smokeConfig uses only what is built into both programs (terraform_data,
// variables, locals, a precondition, a check block, an output) and the
// default local backend, so init needs no network.
const smokeConfig = `
variable "greeting" {
  type    = string
  default = "hello"
}

locals {
  message = "${var.greeting}, pipe"
}

resource "terraform_data" "example" {
  input = local.message

  lifecycle {
    precondition {
      condition     = length(var.greeting) > 0
      error_message = "greeting must not be empty."
    }
  }
}

check "message_has_greeting" {
  assert {
    condition     = startswith(local.message, var.greeting)
    error_message = "message does not start with the greeting."
  }
}

output "message" {
  value = terraform_data.example.output
}
`

// run runs bin with args in dir and the clean environment, failing the test
// on a non-zero exit unless wantExit says otherwise.
func run(t *testing.T, env []string, dir, bin string, wantExit int, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %s: %v", filepath.Base(bin), strings.Join(args, " "), err)
	}
	if code != wantExit {
		t.Fatalf("%s %s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s",
			filepath.Base(bin), strings.Join(args, " "), code, wantExit, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func TestSmoke(t *testing.T) {
	// What the caller's environment holds must not reach the programs: a
	// missing CLI configuration file makes both print a warning, TF_LOG
	// floods stderr, TF_VAR_greeting would change the plan.
	t.Setenv("TF_CLI_CONFIG_FILE", filepath.Join(t.TempDir(), "missing.tfrc"))
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_VAR_greeting", "from-the-environment")

	bins := tfbin.ForTest(t)
	for _, tc := range []struct{ name, bin, product, version string }{
		{"tofu", bins.Tofu, "OpenTofu", tfbin.TofuVersion},
		{"terraform", bins.Terraform, "Terraform", tfbin.TerraformVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !filepath.IsAbs(tc.bin) {
				t.Fatalf("path %q is not absolute", tc.bin)
			}
			env := tfbin.Env(t)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(smokeConfig), 0o644); err != nil {
				t.Fatal(err)
			}

			out, _ := run(t, env, dir, tc.bin, 0, "version")
			if first, _, _ := strings.Cut(out, "\n"); first != tc.product+" "+tc.version {
				t.Fatalf("version prints %q, want %q", first, tc.product+" "+tc.version)
			}

			_, stderr := run(t, env, dir, tc.bin, 0, "init", "-input=false", "-no-color")
			if strings.Contains(stderr, "missing.tfrc") || strings.Contains(stderr, "[TRACE]") {
				t.Errorf("init saw the caller's TF_* environment:\n%s", stderr)
			}

			run(t, env, dir, tc.bin, 0, "plan", "-input=false", "-no-color", "-out=tfplan", "-var", "greeting=hi")
			out, _ = run(t, env, dir, tc.bin, 0, "show", "-json", "tfplan")
			var plan tfjson.Plan
			if err := json.Unmarshal([]byte(out), &plan); err != nil {
				t.Fatalf("show -json: %v\n%s", err, out)
			}
			if len(plan.ResourceChanges) != 1 {
				t.Fatalf("plan has %d resource changes, want 1: %s", len(plan.ResourceChanges), out)
			}
			rc := plan.ResourceChanges[0]
			if rc.Address != "terraform_data.example" || rc.Type != "terraform_data" || !rc.Change.Actions.Create() {
				t.Errorf("resource change %s (%s) %v, want terraform_data.example (terraform_data) create", rc.Address, rc.Type, rc.Change.Actions)
			}
			after, _ := rc.Change.After.(map[string]any)
			if after["input"] != "hi, pipe" {
				t.Errorf("terraform_data.example input after the change = %#v, want %q", after["input"], "hi, pipe")
			}
			if oc := plan.OutputChanges["message"]; oc == nil || !oc.Actions.Create() {
				t.Errorf("output change of message = %+v, want a create", oc)
			}

			run(t, env, dir, tc.bin, 0, "apply", "-input=false", "-no-color", "tfplan")
			if _, err := os.Stat(filepath.Join(dir, "terraform.tfstate")); err != nil {
				t.Errorf("apply left no local state: %v", err)
			}
			out, _ = run(t, env, dir, tc.bin, 0, "output", "-json", "message")
			if strings.TrimSpace(out) != `"hi, pipe"` {
				t.Errorf("output message = %s, want \"hi, pipe\"", out)
			}

			// Applied: planning the same again changes nothing (exit 0 with
			// -detailed-exitcode; 2 would mean changes).
			run(t, env, dir, tc.bin, 0, "plan", "-input=false", "-no-color", "-detailed-exitcode", "-var", "greeting=hi")

			// The precondition stops a plan that breaks it.
			_, stderr = run(t, env, dir, tc.bin, 1, "plan", "-input=false", "-no-color", "-var", "greeting=")
			if !strings.Contains(stderr, "greeting must not be empty.") {
				t.Errorf("plan with an empty greeting: stderr lacks the precondition's message:\n%s", stderr)
			}
		})
	}
}

func TestEnvIsClean(t *testing.T) {
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_CLI_CONFIG_FILE", "/nonexistent/.terraformrc")
	t.Setenv("CHECKPOINT_TIMEOUT", "1")
	t.Setenv("PIPE_TFBIN_TEST_KEEP", "kept")
	env := tfbin.Env(t)
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := vars[k]; dup {
			t.Errorf("%s is set twice", k)
		}
		vars[k] = v
	}
	for _, k := range []string{"TF_LOG", "CHECKPOINT_TIMEOUT"} {
		if v, ok := vars[k]; ok {
			t.Errorf("%s=%s leaked into the clean environment", k, v)
		}
	}
	for k, want := range map[string]string{"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1", "PIPE_TFBIN_TEST_KEEP": "kept"} {
		if vars[k] != want {
			t.Errorf("%s=%q, want %q", k, vars[k], want)
		}
	}
	rc := vars["TF_CLI_CONFIG_FILE"]
	b, err := os.ReadFile(rc)
	if err != nil || len(b) != 0 {
		t.Errorf("TF_CLI_CONFIG_FILE=%s: want an existing empty file, got %q, %v", rc, b, err)
	}
}
