package config

import (
	"testing"
	"time"
)

func TestGenericDefaults(t *testing.T) {
	doc := k8sAppDoc(`  pipeline:
    stages:
      - name: WAIT
      - name: WAIT_APPROVAL
      - name: SCRIPT_RUN
        with:
          run: echo hi
      - name: CUSTOM_SYNC
        with:
          run: echo sync
`)
	f, ds := checkAppDoc(t, doc, CheckContext{})
	assertClean(t, ds)
	s := f.Spec.(*KubernetesApplicationSpec)
	if s.Timeout.Std() != 6*time.Hour {
		t.Errorf("timeout = %s, want 6h", s.Timeout)
	}
	if !s.Trigger.OnOutOfSync.Disabled || s.Trigger.OnOutOfSync.MinWindow.Std() != 5*time.Minute {
		t.Errorf("onOutOfSync = %+v, want disabled, 5m", s.Trigger.OnOutOfSync)
	}
	if !s.Trigger.OnChain.Disabled || s.Trigger.OnCommit.Disabled || s.Trigger.OnCommand.Disabled {
		t.Errorf("trigger = %+v, want onChain disabled only", s.Trigger)
	}
	if !s.AutoRollbackEnabled(KindKubernetesApp) {
		t.Error("autoRollback should default to true")
	}
	st := s.Pipeline.Stages
	if w := st[0].With.(*WaitStageOptions); w.Duration.Std() != time.Minute {
		t.Errorf("WAIT duration = %s, want 1m", w.Duration)
	}
	if w := st[1].With.(*WaitApprovalStageOptions); w.Timeout.Std() != 6*time.Hour || w.MinApproverNum != 1 {
		t.Errorf("WAIT_APPROVAL = %+v, want 6h timeout, 1 approver", w)
	}
	if w := st[2].With.(*ScriptRunStageOptions); w.Timeout.Std() != 6*time.Hour || w.Run != "echo hi" {
		t.Errorf("SCRIPT_RUN = %+v, want 6h timeout", w)
	}
	if w := st[3].With.(*CustomSyncStageOptions); w.Timeout.Std() != 6*time.Hour {
		t.Errorf("CUSTOM_SYNC timeout = %s, want 6h", w.Timeout)
	}
}

func TestAutoRollbackPerKind(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		p    DeploymentPlanner
		kind Kind
		want bool
	}{
		{DeploymentPlanner{}, KindKubernetesApp, true},
		{DeploymentPlanner{}, KindTerraformApp, false},
		{DeploymentPlanner{AutoRollback: &yes}, KindTerraformApp, true},
		{DeploymentPlanner{AutoRollback: &no}, KindLambdaApp, false},
	} {
		if got := tc.p.AutoRollbackEnabled(tc.kind); got != tc.want {
			t.Errorf("%s with %+v: got %t, want %t", tc.kind, tc.p, got, tc.want)
		}
	}
	// The planner wins over input.autoRollback, with a warning.
	doc := k8sAppDoc("  planner:\n    autoRollback: true\n  input:\n    autoRollback: false\n")
	f, ds := checkAppDoc(t, doc, CheckContext{})
	if !f.Spec.(*KubernetesApplicationSpec).AutoRollbackEnabled(KindKubernetesApp) {
		t.Error("planner.autoRollback should win")
	}
	if d := diagAtPath(ds, "spec.input.autoRollback"); d == nil || d.Severity != SeverityWarning {
		t.Errorf("want a warning on the disagreement, got:\n%s", ds.Error())
	}
}

func TestDeprecatedAliases(t *testing.T) {
	doc := k8sAppDoc("  envName: prod\n  triggerPaths:\n    - shared/*\n")
	f, ds := checkAppDoc(t, doc, CheckContext{})
	if ds.HasErrors() {
		t.Fatalf("deprecated fields must only warn:\n%s", ds.Error())
	}
	s := f.Spec.(*KubernetesApplicationSpec)
	if s.Env() != "prod" || len(s.OnCommitPaths()) != 1 {
		t.Errorf("env = %q, paths = %v", s.Env(), s.OnCommitPaths())
	}
}

func TestGenericDiagnostics(t *testing.T) {
	withStages := func(stages string) string { return k8sAppDoc("  pipeline:\n    stages:\n" + stages) }
	runDiagCases(t, []diagCase{
		{
			name: "unknown option in with",
			doc:  withStages("      - name: WAIT\n        with:\n          durration: 1m\n"),
			path: "spec.pipeline.stages[0].with.durration", marker: "durration",
			msg: "unknown field `durration`", hint: "did you mean `duration`?",
		},
		{
			name: "WAIT of zero",
			doc:  withStages("      - name: WAIT\n        with:\n          duration: 0s\n"),
			path: "spec.pipeline.stages[0].with.duration", marker: "duration:",
			msg: "greater than 0",
		},
		{
			name: "SCRIPT_RUN without run",
			doc:  withStages("      - name: SCRIPT_RUN\n        with:\n          env: {A: b}\n"),
			path: "spec.pipeline.stages[0].with.run", marker: "with:",
			msg: "SCRIPT_RUN needs `run`",
		},
		{
			name: "SCRIPT_RUN without with",
			doc:  withStages("      - name: SCRIPT_RUN\n"),
			path: "spec.pipeline.stages[0].with", marker: "SCRIPT_RUN",
			msg: "needs options under `with:`",
		},
		{
			name: "CUSTOM_SYNC env is PipeCD-incompatible",
			doc:  withStages("      - name: CUSTOM_SYNC\n        with:\n          env: {A: b}\n          run: make deploy\n"),
			path: "spec.pipeline.stages[0].with.env", marker: "env:", sev: SeverityWarning,
			msg: "ignores `env`", hint: "rename it to `envs`",
		},
		{
			name: "stage of another kind",
			doc:  withStages("      - name: LAMBDA_PROMOTE\n"),
			path: "spec.pipeline.stages[0].name", marker: "LAMBDA_PROMOTE",
			msg: "not available for KubernetesApp", hint: "K8S_CANARY_ROLLOUT",
		},
		{
			name: "minApproverNum zero",
			doc:  withStages("      - name: WAIT_APPROVAL\n        with:\n          minApproverNum: 0\n"),
			path: "spec.pipeline.stages[0].with.minApproverNum", marker: "minApproverNum",
			msg: "must be 1 or more",
		},
		{
			name: "more approvals than approvers",
			doc:  withStages("      - name: WAIT_APPROVAL\n        with:\n          approvers: [alice]\n          minApproverNum: 2\n"),
			path: "spec.pipeline.stages[0].with.minApproverNum", marker: "minApproverNum",
			msg: "could never complete", hint: "lower minApproverNum to 1",
		},
		{
			name: "skipOn path pattern",
			doc:  withStages("      - name: WAIT\n        with:\n          skipOn:\n            paths: [\"docs/[\"]\n"),
			path: "spec.pipeline.stages[0].with.skipOn.paths[0]", marker: "paths:",
			msg: "invalid path pattern",
		},
		{
			name: "bad commitMatcher regex",
			doc:  k8sAppDoc("  commitMatcher:\n    quickSync: \"(hotfix\"\n"),
			path: "spec.commitMatcher.quickSync", marker: "quickSync",
			msg: "invalid regular expression: missing closing )",
		},
		{
			name: "pipedv1 plugins",
			doc:  k8sAppDoc("  plugins:\n    kubernetes: {}\n"),
			path: "spec.plugins", marker: "plugins:",
			msg: "unknown field `plugins`", hint: "pipedv1 plugin format",
		},
		{
			name: "deprecated envName",
			doc:  k8sAppDoc("  envName: prod\n"),
			path: "spec.envName", marker: "envName", sev: SeverityWarning,
			msg: "deprecated", hint: "labels: {env: prod}",
		},
		{
			name: "deprecated triggerPaths",
			doc:  k8sAppDoc("  triggerPaths: [a/*]\n"),
			path: "spec.triggerPaths", marker: "triggerPaths", sev: SeverityWarning,
			msg: "deprecated", hint: "trigger.onCommit.paths",
		},
		{
			name: "trigger path outside the repository",
			doc:  k8sAppDoc("  trigger:\n    onCommit:\n      ignores: [\"../other/*\"]\n"),
			path: "spec.trigger.onCommit.ignores[0]", marker: "ignores",
			msg: "leaves the repository",
		},
		{
			name: "notification event",
			doc:  k8sAppDoc("  notification:\n    mentions:\n      - event: DEPLOYMENT_FAIL\n        slackUsers: [U1]\n"),
			path: "spec.notification.mentions[0].event", marker: "DEPLOYMENT_FAIL",
			msg: "unknown notification event", hint: `did you mean "DEPLOYMENT_FAILED"?`,
		},
		{
			name: "notification event with EVENT_ prefix",
			doc:  k8sAppDoc("  notification:\n    mentions:\n      - event: EVENT_DEPLOYMENT_SUCCEEDED\n        slackUsers: [U1]\n"),
			path: "spec.notification.mentions[0].event", marker: "EVENT_",
			msg: "unknown notification event", hint: "drop the EVENT_ prefix",
		},
		{
			name: "deprecated slack mention",
			doc:  k8sAppDoc("  notification:\n    mentions:\n      - event: \"*\"\n        slack: [U1]\n"),
			path: "spec.notification.mentions[0].slack", marker: "slack:", sev: SeverityWarning,
			msg: "deprecated", hint: "slackUsers",
		},
		{
			name: "chain without applications",
			doc:  k8sAppDoc("  postSync:\n    chain:\n      applications: []\n"),
			path: "spec.postSync.chain.applications", marker: "applications",
			msg: "needs applications",
		},
		{
			name: "chain application without filter",
			doc:  k8sAppDoc("  postSync:\n    chain:\n      applications:\n        - labels: {}\n"),
			path: "spec.postSync.chain.applications[0]", marker: "labels",
			msg: "at least one filter",
		},
		{
			name: "chain kind in pipe's spelling",
			doc:  k8sAppDoc("  postSync:\n    chain:\n      applications:\n        - kind: LambdaApp\n"),
			path: "spec.postSync.chain.applications[0].kind", marker: "LambdaApp",
			msg: "unknown application kind", hint: "write LAMBDA",
		},
		{
			name: "drift ignore field",
			doc:  k8sAppDoc("  driftDetection:\n    ignoreFields:\n      - apps/v1:Deployment:web#spec.replicas\n"),
			path: "spec.driftDetection.ignoreFields[0]", marker: "apps/v1",
			msg: "3 `:`-separated parts", hint: "apiVersion:kind:namespace:name#fieldPath",
		},
		{
			name: "drift ignore field without path",
			doc:  k8sAppDoc("  driftDetection:\n    ignoreFields:\n      - apps/v1:Deployment:default:web\n"),
			path: "spec.driftDetection.ignoreFields[0]", marker: "apps/v1",
			msg: "no `#`",
		},
		{
			name: "event watcher replacement without field",
			doc: k8sAppDoc(`  eventWatcher:
    - matcher:
        name: image-update
      handler:
        type: GIT_UPDATE
        config:
          replacements:
            - file: deployment.yaml
`),
			path: "spec.eventWatcher[0].handler.config.replacements[0]", marker: "- file:",
			msg: "says nothing about what to replace",
		},
		{
			name: "event watcher regex without group",
			doc: k8sAppDoc(`  eventWatcher:
    - matcher: {name: image-update}
      handler:
        type: GIT_UPDATE
        config:
          replacements:
            - file: deployment.yaml
              regex: "image: app:v[0-9]+"
`),
			path: "spec.eventWatcher[0].handler.config.replacements[0].regex", marker: "regex:",
			msg: "no capturing group",
		},
		{
			name: "event watcher handler type",
			doc:  k8sAppDoc("  eventWatcher:\n    - matcher: {name: x}\n      handler:\n        type: GIT_UPDATES\n        config:\n          replacements: [{file: a.yaml, yamlField: $.a}]\n"),
			path: "spec.eventWatcher[0].handler.type", marker: "GIT_UPDATES",
			msg: "unknown event handler type", hint: `did you mean "GIT_UPDATE"?`,
		},
		{
			name: "event watcher yaml path",
			doc:  k8sAppDoc("  eventWatcher:\n    - matcher: {name: x}\n      handler:\n        type: GIT_UPDATE\n        config:\n          replacements: [{file: a.yaml, yamlField: spec.image}]\n"),
			path: "spec.eventWatcher[0].handler.config.replacements[0].yamlField", marker: "yamlField",
			msg: "must start with `$`", hint: "$.spec.image",
		},
		{
			name: "encryption without targets",
			doc:  k8sAppDoc("  encryption:\n    encryptedSecrets:\n      password: AQCl\n"),
			path: "spec.encryption.decryptionTargets", marker: "encryption:", sev: SeverityWarning,
			msg: "never used",
		},
		{
			name: "empty encrypted secret",
			doc:  k8sAppDoc("  encryption:\n    encryptedSecrets:\n      password: \"\"\n    decryptionTargets: [secret.yaml]\n"),
			path: "spec.encryption.encryptedSecrets.password", marker: "password",
			msg: "is empty",
		},
	})
}
