// Package terraform drives the terraform or tofu binary for TerraformApp
// applications, through github.com/hashicorp/terraform-exec and the JSON
// plan format of github.com/hashicorp/terraform-json (human output is shown,
// never parsed for data).
//
// The flow of a deployment:
//
//	bin, err := terraform.FindBinary(ctx, terraform.FindOptions{
//		VersionConstraint: spec.Input.TerraformVersion,
//		ConstraintSource:  "apps/net/app.pipecd.yaml",
//	})
//	w, err := terraform.Open(bin, appDir, spec.Input, terraform.Options{
//		Stdout: os.Stderr, Stderr: os.Stderr, // narration; pipe's stdout is data
//		Vars:   provider.Vars,
//	})
//	err = w.Init(ctx)                      // init + workspace select
//	plan, err := w.Plan(ctx, terraform.PlanOptions{Out: "plan.tfplan"})
//	// review plan.Human / plan.Resources; keep plan.Fingerprint
//	err = w.Apply(ctx, plan.File)          // exactly that plan; ErrStalePlan if the state moved
//
// Drift runs a refresh-only plan and a normal plan and applies neither.
//
// Planning (planner.go) describes terraform's plan as a Result (ResultOf)
// and makes the deployment's plan from it with plan.New: the changes, one
// per resource and output with its block of terraform's rendering, the
// counts, what is destroyed, and the Result as the plan's details.
//
// Errors are *Error values matching (errors.Is) ErrInvalidConfig,
// ErrMissingVariable, ErrStateLocked, ErrNoWorkspace, ErrNoConfig,
// ErrStalePlan or ErrApplyFailed; FindBinary's match ErrBinaryNotFound or
// ErrVersionMismatch. Values terraform marks sensitive, Options.Secrets, and
// values of variables and environment variables with secret-looking names
// (token, password, secret, *_key...) never appear in errors, logs,
// narration or Plan data.
//
// The package knows nothing of Kubernetes or of the CLI; see
// docs/terraform.md for the user-facing behaviour.
package terraform
