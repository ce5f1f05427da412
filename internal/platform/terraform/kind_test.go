package terraform

import "testing"

// The files terraform writes in the working tree are not changes of the
// application: a sync does not refuse them as uncommitted.
func TestWorkFile(t *testing.T) {
	p := NewPlatform(PlatformOptions{})
	for path, want := range map[string]bool{
		"infra/net/terraform.tfstate":                true,
		"infra/net/terraform.tfstate.backup":         true,
		"infra/net/.terraform.tfstate.lock.info":     true,
		"infra/net/.terraform.lock.hcl":              true,
		"infra/net/.terraform/providers/x":           true,
		".terraform/modules/modules.json":            true,
		"infra/net/terraform.tfstate.d/prod/state":   true,
		"terraform.tfstate.d/prod/terraform.tfstate": true,
		"infra/net/main.tf":                          false,
		"infra/net/app.pipecd.yaml":                  false,
		"infra/net/terraform.tfvars":                 false,
		"infra/net/not.terraform/x":                  false,
	} {
		if got := p.WorkFile(path); got != want {
			t.Errorf("WorkFile(%q) = %v, want %v", path, got, want)
		}
	}
}
