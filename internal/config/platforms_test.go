package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func platformDoc(kind Kind, body string) []byte {
	return []byte("apiVersion: pipecd.dev/v1beta1\nkind: " + string(kind) + "\nspec:\n  name: app\n" + body)
}

// TestPlatformDefaults checks the defaults PipeCD applies to each kind.
func TestPlatformDefaults(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		body  string
		check func(t *testing.T, spec any)
	}{
		{"terraform", KindTerraformApp, "", func(t *testing.T, spec any) {
			s := spec.(*TerraformApplicationSpec)
			if s.Input.AutoRollback || s.AutoRollbackEnabled(KindTerraformApp) {
				t.Error("Terraform auto-rollback must be off by default")
			}
			if s.Timeout.Std() != 6*time.Hour || s.QuickSync.Retries != 0 || s.Input.Workspace != "" {
				t.Errorf("defaults: timeout %v, retries %d, workspace %q", s.Timeout, s.QuickSync.Retries, s.Input.Workspace)
			}
		}},
		{"terraform input.autoRollback", KindTerraformApp, "  input:\n    autoRollback: true\n", func(t *testing.T, spec any) {
			if !spec.(*TerraformApplicationSpec).AutoRollbackEnabled(KindTerraformApp) {
				t.Error("input.autoRollback: true must enable it")
			}
		}},
		{"terraform planner.autoRollback", KindTerraformApp, "  planner:\n    autoRollback: true\n", func(t *testing.T, spec any) {
			if !spec.(*TerraformApplicationSpec).AutoRollbackEnabled(KindTerraformApp) {
				t.Error("planner.autoRollback: true must enable it")
			}
		}},
		{"lambda", KindLambdaApp, "", func(t *testing.T, spec any) {
			s := spec.(*LambdaApplicationSpec)
			if s.Input.FunctionManifestFile != "function.yaml" || !s.Input.AutoRollback || !s.AutoRollbackEnabled(KindLambdaApp) {
				t.Errorf("input = %+v", s.Input)
			}
		}},
		{"lambda autoRollback off", KindLambdaApp, "  input:\n    autoRollback: false\n", func(t *testing.T, spec any) {
			if spec.(*LambdaApplicationSpec).AutoRollbackEnabled(KindLambdaApp) {
				t.Error("autoRollback: false must disable it")
			}
		}},
		{"cloudrun", KindCloudRunApp, "", func(t *testing.T, spec any) {
			s := spec.(*CloudRunApplicationSpec)
			if s.Input.ServiceManifestFile != "service.yaml" || !s.Input.AutoRollback || !s.AutoRollbackEnabled(KindCloudRunApp) {
				t.Errorf("input = %+v", s.Input)
			}
		}},
		{"ecs", KindECSApp, "", func(t *testing.T, spec any) {
			in := spec.(*ECSApplicationSpec).Input
			if in.LaunchType != "FARGATE" || in.TaskDefinitionFile != "taskdef.json" || in.ServiceDefinitionFile != "" ||
				!in.AutoRollback || !in.RunStandaloneTask || in.AccessType != "ELB" || !in.IsStandaloneTask() || !in.IsAccessedViaELB() {
				t.Errorf("input = %+v", in)
			}
			if spec.(*ECSApplicationSpec).QuickSync.Recreate {
				t.Error("quickSync.recreate must default to false")
			}
		}},
		{"ecs written", KindECSApp, "  input:\n    serviceDefinitionFile: svc.yaml\n    launchType: EC2\n    accessType: SERVICE_DISCOVERY\n    runStandaloneTask: false\n  quickSync:\n    recreate: true\n", func(t *testing.T, spec any) {
			s := spec.(*ECSApplicationSpec)
			if s.Input.IsStandaloneTask() || s.Input.LaunchType != "EC2" || s.Input.IsAccessedViaELB() || s.Input.RunStandaloneTask || !s.QuickSync.Recreate {
				t.Errorf("spec = %+v", s)
			}
		}},
		{"stage options defaults", KindTerraformApp, "  pipeline:\n    stages:\n      - name: TERRAFORM_PLAN\n      - name: TERRAFORM_APPLY\n        with:\n          retries: 2\n", func(t *testing.T, spec any) {
			st := spec.(*TerraformApplicationSpec).Pipeline.Stages
			plan, ok := st[0].With.(*TerraformPlanStageOptions)
			if !ok || plan.ExitOnNoChanges {
				t.Errorf("plan options = %#v", st[0].With)
			}
			if apply, ok := st[1].With.(*TerraformApplyStageOptions); !ok || apply.Retries != 2 {
				t.Errorf("apply options = %#v", st[1].With)
			}
		}},
		{"percentages", KindECSApp, "  input:\n    serviceDefinitionFile: s.yaml\n    targetGroups:\n      primary: {targetGroupArn: arn:a, containerName: web, containerPort: 80}\n      canary: {targetGroupArn: arn:b, containerName: web, containerPort: 80}\n" +
			"  pipeline:\n    stages:\n      - name: ECS_CANARY_ROLLOUT\n        with: {scale: \"30%\"}\n      - name: ECS_TRAFFIC_ROUTING\n        with: {canary: \"20\"}\n      - name: ECS_TRAFFIC_ROUTING\n        with: {primary: 0}\n      - name: ECS_TRAFFIC_ROUTING\n", func(t *testing.T, spec any) {
			st := spec.(*ECSApplicationSpec).Pipeline.Stages
			if st[0].With.(*ECSCanaryRolloutStageOptions).Scale.Number != 30 {
				t.Errorf("scale = %+v", st[0].With)
			}
			for i, want := range [][2]int{{80, 20}, {0, 100}, {100, 0}} {
				p, c := st[i+1].With.(*ECSTrafficRoutingStageOptions).Split()
				if p != want[0] || c != want[1] {
					t.Errorf("stage %d split = %d/%d, want %d/%d", i+1, p, c, want[0], want[1])
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ds := checkSpec(t, "app.pipecd.yaml", platformDoc(tt.kind, tt.body), "", "")
			if ds.HasErrors() {
				t.Fatalf("errors:\n%s", ds.Error())
			}
			tt.check(t, f.Spec)
		})
	}
}

// TestPlatformDiagnostics checks the errors and warnings of the platform
// specs: where they point and what they say.
func TestPlatformDiagnostics(t *testing.T) {
	tests := []struct {
		name     string
		kind     Kind
		body     string
		severity Severity
		path     string
		line     int
		message  string
		hint     string
	}{
		{"unknown input field", KindTerraformApp, "  input:\n    terraformVersoin: 1.5.0\n",
			SeverityError, "spec.input.terraformVersoin", 6, "unknown field `terraformVersoin`", "did you mean `terraformVersion`?"},
		{"unknown quickSync field", KindECSApp, "  quickSync:\n    recreat: true\n",
			SeverityError, "spec.quickSync.recreat", 6, "unknown field `recreat`", "`recreate`"},
		{"no quickSync options for lambda", KindLambdaApp, "  quickSync:\n    prune: true\n",
			SeverityError, "spec.quickSync.prune", 6, "unknown field `prune`", "no fields are allowed here"},
		{"removed ecs field", KindECSApp, "  input:\n    clusterDefinitionFile: c.yaml\n",
			SeverityError, "spec.input.clusterDefinitionFile", 6, "unknown field", "clusterArn"},
		{"stage of another kind", KindLambdaApp, "  pipeline:\n    stages:\n      - name: ECS_CANARY_ROLLOUT\n        with: {scale: 10}\n",
			SeverityError, "spec.pipeline.stages[0].name", 7, "stage ECS_CANARY_ROLLOUT is not available for LambdaApp", "LAMBDA_PROMOTE"},
		{"cloudrun stage in terraform", KindTerraformApp, "  pipeline:\n    stages:\n      - name: CLOUDRUN_PROMOTE\n",
			SeverityError, "spec.pipeline.stages[0].name", 7, "not available for TerraformApp", "TERRAFORM_PLAN"},
		{"percent out of range", KindLambdaApp, "  pipeline:\n    stages:\n      - name: LAMBDA_CANARY_ROLLOUT\n      - name: LAMBDA_PROMOTE\n        with:\n          percent: 150%\n",
			SeverityError, "spec.pipeline.stages[1].with.percent", 10, "percentage 150 is out of range", "between 0 and 100"},
		{"cloudrun percent out of range", KindCloudRunApp, "  pipeline:\n    stages:\n      - name: CLOUDRUN_PROMOTE\n        with: {percent: \"-5\"}\n",
			SeverityError, "spec.pipeline.stages[0].with.percent", 8, "out of range", ""},
		{"promote without percent", KindCloudRunApp, "  pipeline:\n    stages:\n      - name: CLOUDRUN_PROMOTE\n",
			SeverityWarning, "spec.pipeline.stages[0].with", 7, "routes 0% of the traffic", "percent: 10"},
		{"lambda promote before rollout", KindLambdaApp, "  pipeline:\n    stages:\n      - name: LAMBDA_PROMOTE\n        with: {percent: 10}\n",
			SeverityWarning, "spec.pipeline.stages[0].name", 7, "no LAMBDA_CANARY_ROLLOUT runs before it", ""},
		{"options without with", KindECSApp, "  pipeline:\n    stages:\n      - name: ECS_CANARY_ROLLOUT\n        scale: 30\n",
			SeverityError, "spec.pipeline.stages[0].scale", 8, "unknown field `scale`", "under `with:`"},
		{"canary rollout needs scale", KindECSApp, "  input: {serviceDefinitionFile: s.yaml}\n  pipeline:\n    stages:\n      - name: ECS_CANARY_ROLLOUT\n        with: {}\n",
			SeverityError, "spec.pipeline.stages[0].with", 9, "missing required field `scale`", ""},
		{"canary rollout without with", KindECSApp, "  pipeline:\n    stages:\n      - name: ECS_CANARY_ROLLOUT\n",
			SeverityError, "spec.pipeline.stages[0].with", 7, "needs options under `with:`", ""},
		{"stage without options", KindECSApp, "  pipeline:\n    stages:\n      - name: ECS_CANARY_CLEAN\n        with: {all: true}\n",
			SeverityError, "spec.pipeline.stages[0].with", 8, "takes no options", ""},
		{"negative retries", KindTerraformApp, "  quickSync:\n    retries: -1\n",
			SeverityError, "spec.quickSync.retries", 6, "must not be negative", ""},
		{"terraform var", KindTerraformApp, "  input:\n    vars:\n      - image_id\n",
			SeverityError, "spec.input.vars[0]", 7, "not key=value", "image_id=ami-abc123"},
		{"terraform command env", KindTerraformApp, "  input:\n    commandEnvs:\n      plan: [\"TF LOG=1\"]\n",
			SeverityError, "spec.input.commandEnvs.plan[0]", 7, "not NAME=value", ""},
		{"autoRollback disagreement", KindLambdaApp, "  planner:\n    autoRollback: false\n  input:\n    autoRollback: true\n",
			SeverityWarning, "spec.input.autoRollback", 8, "disagrees with planner.autoRollback", "takes precedence"},
		{"ecs access type", KindECSApp, "  input:\n    accessType: ALB\n",
			SeverityError, "spec.input.accessType", 6, `invalid value "ALB"`, "ELB, SERVICE_DISCOVERY"},
		{"ecs launch type", KindECSApp, "  input:\n    launchType: fargate\n",
			SeverityError, "spec.input.launchType", 6, `invalid value "fargate"`, `did you mean "FARGATE"?`},
		{"ecs public ip", KindECSApp, "  input:\n    awsvpcConfiguration:\n      assignPublicIp: true\n",
			SeverityError, "spec.input.awsvpcConfiguration.assignPublicIp", 7, `invalid value "true"`, "ENABLED"},
		{"ecs target group", KindECSApp, "  input:\n    targetGroups:\n      primary:\n        containerName: web\n        containerPort: 80\n",
			SeverityError, "spec.input.targetGroups.primary", 7, "neither targetGroupArn nor loadBalancerName", ""},
		{"ecs target group port", KindECSApp, "  input:\n    targetGroups:\n      primary: {targetGroupArn: arn:x, containerName: web}\n",
			SeverityError, "spec.input.targetGroups.primary.containerPort", 7, "missing required field `containerPort`", ""},
		{"ecs routing with service discovery", KindECSApp, "  input:\n    serviceDefinitionFile: s.yaml\n    accessType: SERVICE_DISCOVERY\n  pipeline:\n    stages:\n      - name: ECS_TRAFFIC_ROUTING\n        with: {canary: 20}\n",
			SeverityError, "spec.pipeline.stages[0].name", 10, "not supported with accessType SERVICE_DISCOVERY", ""},
		{"ecs routing without canary target group", KindECSApp, "  input:\n    serviceDefinitionFile: s.yaml\n  pipeline:\n    stages:\n      - name: ECS_TRAFFIC_ROUTING\n        with: {canary: 20}\n",
			SeverityWarning, "spec.pipeline.stages[0].name", 9, "does not have both", "targetGroups.canary"},
		{"ecs routing percentages", KindECSApp, "  input:\n    serviceDefinitionFile: s.yaml\n  pipeline:\n    stages:\n      - name: ECS_TRAFFIC_ROUTING\n        with: {primary: 70, canary: 20}\n",
			SeverityError, "spec.pipeline.stages[0].with", 10, "do not add up to 100%", "only one"},
		{"ecs target groups unused", KindECSApp, "  input:\n    serviceDefinitionFile: s.yaml\n    accessType: SERVICE_DISCOVERY\n    targetGroups:\n      primary: {targetGroupArn: arn:x, containerName: web, containerPort: 80}\n",
			SeverityWarning, "spec.input.targetGroups", 8, "not used with accessType SERVICE_DISCOVERY", ""},
		{"ecs standalone task with variants", KindECSApp, "  pipeline:\n    stages:\n      - name: ECS_SYNC\n      - name: ECS_CANARY_ROLLOUT\n        with: {scale: 10}\n      - name: ECS_PRIMARY_ROLLOUT\n",
			SeverityWarning, "spec.pipeline.stages[1].name", 8, "standalone task", "serviceDefinitionFile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := checkSpec(t, "app.pipecd.yaml", platformDoc(tt.kind, tt.body), "", "")
			assertDiag(t, ds, tt.severity, tt.path, tt.line, tt.message, tt.hint)
		})
	}
}

// assertDiag fails unless ds holds a diagnostic of that severity at path and
// line whose message and hint contain the given texts.
func assertDiag(t *testing.T, ds Diagnostics, sev Severity, path string, line int, message, hint string) {
	t.Helper()
	for _, d := range ds {
		if d.Severity == sev && d.Path == path && strings.Contains(d.Message, message) {
			if line != 0 && d.Line != line {
				t.Errorf("%s: line %d, want %d", d, d.Line, line)
			}
			if !strings.Contains(d.Hint, hint) {
				t.Errorf("%s: hint %q does not contain %q", d, d.Hint, hint)
			}
			return
		}
	}
	t.Errorf("no %s at %s containing %q; got:\n%s", sev, path, message, ds.Error())
}

// TestPlatformFileRefs checks the manifest and variable file references:
// written references must exist; a default name that does not exist is only
// a warning.
func TestPlatformFileRefs(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"apps/fn/function.yaml":  lambdaDoc, // parsed: a LambdaApp's validation reads its function manifest
		"apps/run/other.yaml":    "x",
		"apps/tf/prod.tfvars":    "x",
		"apps/ecs/taskdef.yaml":  "x",
		"apps/ecs/service.yaml":  "x",
		"outside-app/shared.tfv": "x",
	})
	tests := []struct {
		name, dir string
		kind      Kind
		body      string
		severity  Severity // "" means no diagnostics at all
		path      string
		message   string
	}{
		{"lambda default present", "apps/fn", KindLambdaApp, "", "", "", ""},
		{"lambda default missing", "apps/run", KindLambdaApp, "", SeverityWarning, "spec.input.functionManifestFile", `"function.yaml" does not exist`},
		{"lambda written missing", "apps/fn", KindLambdaApp, "  input:\n    functionManifestFile: fn.yaml\n", SeverityError, "spec.input.functionManifestFile", `"fn.yaml" does not exist`},
		{"cloudrun default missing", "apps/run", KindCloudRunApp, "", SeverityWarning, "spec.input.serviceManifestFile", `"service.yaml" does not exist`},
		{"cloudrun written", "apps/run", KindCloudRunApp, "  input:\n    serviceManifestFile: other.yaml\n", "", "", ""},
		{"cloudrun outside", "apps/run", KindCloudRunApp, "  input:\n    serviceManifestFile: ../../../x.yaml\n", SeverityError, "spec.input.serviceManifestFile", "outside the repository"},
		{"ecs files", "apps/ecs", KindECSApp, "  input:\n    taskDefinitionFile: taskdef.yaml\n    serviceDefinitionFile: service.yaml\n", "", "", ""},
		{"ecs service missing", "apps/ecs", KindECSApp, "  input:\n    taskDefinitionFile: taskdef.yaml\n    serviceDefinitionFile: servicedef.yaml\n", SeverityError, "spec.input.serviceDefinitionFile", "does not exist"},
		{"ecs default taskdef missing", "apps/ecs", KindECSApp, "", SeverityWarning, "spec.input.taskDefinitionFile", `"taskdef.json" does not exist`},
		{"terraform var files", "apps/tf", KindTerraformApp, "  input:\n    varFiles: [prod.tfvars, ../../outside-app/shared.tfv]\n", "", "", ""},
		{"terraform var file missing", "apps/tf", KindTerraformApp, "  input:\n    varFiles: [prod.tfvars, dev.tfvars]\n", SeverityError, "spec.input.varFiles[1]", `"dev.tfvars" does not exist`},
		{"terraform var file absolute", "apps/tf", KindTerraformApp, "  input:\n    varFiles: [/etc/prod.tfvars]\n", SeverityError, "spec.input.varFiles[0]", "absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := checkSpec(t, tt.dir+"/app.pipecd.yaml", platformDoc(tt.kind, tt.body), root, filepath.Join(root, filepath.FromSlash(tt.dir)))
			if tt.severity == "" {
				if len(ds) > 0 {
					t.Fatalf("want no diagnostics, got:\n%s", ds.Error())
				}
				return
			}
			assertDiag(t, ds, tt.severity, tt.path, 0, tt.message, "")
			if tt.severity == SeverityWarning && ds.HasErrors() {
				t.Errorf("want only warnings, got:\n%s", ds.Error())
			}
		})
	}
}

// TestPlatformStagesRegistered checks the stage names of each kind.
func TestPlatformStagesRegistered(t *testing.T) {
	want := map[Kind][]StageName{
		KindTerraformApp: {StageTerraformSync, StageTerraformPlan, StageTerraformApply},
		KindLambdaApp:    {StageLambdaSync, StageLambdaCanaryRollout, StageLambdaPromote},
		KindECSApp:       {StageECSSync, StageECSCanaryRollout, StageECSPrimaryRollout, StageECSCanaryClean, StageECSTrafficRouting},
		KindCloudRunApp:  {StageCloudRunSync, StageCloudRunPromote},
	}
	for kind, names := range want {
		got := StagesForKind(kind)
		for _, n := range names {
			if !containsStage(got, n) {
				t.Errorf("%s: %s is not available (have %v)", kind, n, got)
			}
		}
		for other, otherNames := range want {
			if other == kind {
				continue
			}
			for _, n := range otherNames {
				if containsStage(got, n) {
					t.Errorf("%s: %s of %s is available", kind, n, other)
				}
			}
		}
	}
}

func containsStage(list []StageName, n StageName) bool {
	for _, s := range list {
		if s == n {
			return true
		}
	}
	return false
}
