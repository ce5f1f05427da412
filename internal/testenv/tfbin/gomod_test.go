package tfbin

import (
	"strings"
	"testing"
)

// The go.mod excerpts below are the shapes of the real upstream files:
// OpenTofu's single replace of its hcl fork, Terraform's block of local
// replaces of its nested modules.

func TestThrowawayGoModTofu(t *testing.T) {
	upstream := `module github.com/opentofu/opentofu

go 1.24.13

require (
	github.com/hashicorp/hcl/v2 v2.20.1 // indirect
)

replace github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828
`
	got, n, err := tofuProgram.throwawayGoMod("pipe.testenv/tofu", []byte(upstream))
	if err != nil {
		t.Fatal(err)
	}
	want := `module pipe.testenv/tofu

go 1.26

require (
	github.com/opentofu/opentofu ` + TofuVersion + `
)

replace (
	github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828
)
`
	if got != want || n != 1 {
		t.Errorf("throwaway go.mod (%d replaces):\n%s\nwant (1 replace):\n%s", n, got, want)
	}
}

func TestThrowawayGoModTerraform(t *testing.T) {
	upstream := `module github.com/hashicorp/terraform

require (
	github.com/hashicorp/terraform/internal/legacy v0.0.0-00010101000000-000000000000
)

// Some comment => with an arrow
replace github.com/hashicorp/terraform/internal/backend/remote-state/s3 => ./internal/backend/remote-state/s3

replace (
	github.com/hashicorp/terraform/internal/legacy => ./internal/legacy // trailing comment
)
`
	got, n, err := terraformProgram.throwawayGoMod("pipe.testenv/terraform", []byte(upstream))
	if err != nil {
		t.Fatal(err)
	}
	v := terraformInternalVersion
	want := `module pipe.testenv/terraform

go 1.26

require (
	github.com/hashicorp/terraform ` + TerraformVersion + `
	github.com/hashicorp/terraform/internal/backend/remote-state/s3 ` + v + `
	github.com/hashicorp/terraform/internal/legacy ` + v + `
)

replace (
	github.com/hashicorp/terraform/internal/backend/remote-state/s3 => github.com/hashicorp/terraform/internal/backend/remote-state/s3 ` + v + `
	github.com/hashicorp/terraform/internal/legacy => github.com/hashicorp/terraform/internal/legacy ` + v + `
)
`
	if got != want || n != 2 {
		t.Errorf("throwaway go.mod (%d replaces):\n%s\nwant (2 replaces):\n%s", n, got, want)
	}
}

func TestThrowawayGoModRejects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p        program
		upstream string
		want     string
	}{
		{"directory replace without a published stand-in", tofuProgram,
			"replace github.com/opentofu/opentofu/sub => ./sub\n", "points at a directory"},
		{"directory replace of another module", terraformProgram,
			"replace github.com/other/mod => ../mod\n", "points at a directory"},
		{"nested modules expected but none found", terraformProgram,
			"module github.com/hashicorp/terraform\n", "no replace directives of nested modules"},
		{"unreadable replace", tofuProgram,
			"replace a b c => d\n", "cannot read the replace directive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.p.throwawayGoMod("pipe.testenv/x", []byte(tc.upstream))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
