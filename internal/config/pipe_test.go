package config

import (
	"strings"
	"testing"
)

func pipeDoc(body string) []byte {
	return []byte("apiVersion: pipecd.dev/v1beta1\nkind: Pipe\nspec:\n" + body)
}

const fullPipeConfig = `  platformProviders:
    - name: prod-cluster
      type: KUBERNETES
      labels: {env: prod}
      config:
        kubeConfigPath: /home/runner/.kube/config
        context: prod
        masterURL: https://10.0.0.1:6443
        namespace: web
    - name: infra
      type: TERRAFORM
      config:
        vars: ["project=demo"]
    - name: lambda
      type: LAMBDA
      config: {region: us-west-2, roleARN: "arn:aws:iam::1:role/deploy", tokenFile: /tmp/token}
    - name: ecs
      type: ECS
      config: {region: ap-northeast-1, profile: ci, credentialsFile: /home/runner/.aws/credentials}
    - name: run
      type: CLOUDRUN
      config: {project: demo, region: asia-northeast1}
  analysisProviders:
    - name: prometheus-dev
      type: PROMETHEUS
      config:
        address: http://prometheus:9090
        usernameFile: /etc/prom/user
        passwordEnv: PROM_PASSWORD
    - name: datadog
      type: DATADOG
      config: {apiKeyEnv: DD_API_KEY, applicationKeyFile: /etc/dd/app-key}
    - name: cloudwatch
      type: CLOUDWATCH
      config: {region: us-east-1}
  notifications:
    routes:
      - name: prod-deployments
        receiver: slack-prod
        events: [DEPLOYMENT_SUCCEEDED, DEPLOYMENT_FAILED]
        groups: [DEPLOYMENT]
        labels: {env: prod}
      - name: all
        receiver: hook
    receivers:
      - name: slack-prod
        slack:
          hookURLEnv: SLACK_WEBHOOK_URL
          mentionedAccounts: ["@alice"]
      - name: slack-api
        slack: {oauthTokenFile: /etc/slack/token, channelID: C123}
      - name: hook
        webhook:
          url: https://example.com/hook
          signatureValueEnv: HOOK_SIGNATURE
  secretManagement:
    type: KEY_PAIR
    config:
      privateKeyEnv: PIPE_PRIVATE_KEY
      publicKeyFile: .pipe/public-key.pem
  chartRepositories:
    - name: bitnami
      address: https://charts.bitnami.com/bitnami
      username: ci
      passwordEnv: CHARTS_PASSWORD
    - type: GIT
      gitRemote: git@github.com:org/charts.git
      sshKeyFile: /home/runner/.ssh/id_ed25519
  chartRegistries:
    - address: ghcr.io
      username: ci
      passwordEnv: GHCR_TOKEN
  git:
    notesRef: refs/notes/pipe-prod
    author: {name: pipe, email: pipe@example.com}
`

func TestPipeConfigValid(t *testing.T) {
	f, ds := checkSpec(t, ".pipe/config.yaml", pipeDoc(fullPipeConfig), "", "")
	if len(ds) > 0 {
		t.Fatalf("want no diagnostics, got:\n%s", ds.Error())
	}
	s := f.Spec.(*PipeSpec)
	if k := s.PlatformProviders[0].Kubernetes(); k == nil || k.KubeConfigPath != "/home/runner/.kube/config" || k.Context != "prod" {
		t.Errorf("kubernetes config = %+v", s.PlatformProviders[0].Config)
	}
	if tf := s.PlatformProviders[1].Terraform(); tf == nil || !tf.DriftDetectionEnabled {
		t.Errorf("terraform config = %+v (driftDetectionEnabled defaults to true)", s.PlatformProviders[1].Config)
	}
	if a := s.PlatformProviders[3].AWS(); a == nil || a.Region != "ap-northeast-1" || a.Profile != "ci" {
		t.Errorf("ecs config = %+v", s.PlatformProviders[3].Config)
	}
	if cr := s.PlatformProviders[4].CloudRun(); cr == nil || cr.Project != "demo" {
		t.Errorf("cloudrun config = %+v", s.PlatformProviders[4].Config)
	}
	if p, ok := s.PlatformProvider("lambda"); !ok || p.AWS().RoleARN != "arn:aws:iam::1:role/deploy" {
		t.Errorf("PlatformProvider(lambda) = %+v, %v", p, ok)
	}
	if dd, _ := s.AnalysisProvider("datadog"); dd.Datadog() == nil || dd.Datadog().Address != "datadoghq.com" || dd.Datadog().APIKeyEnv != "DD_API_KEY" {
		t.Errorf("datadog config = %+v (address defaults to datadoghq.com)", dd.Config)
	}
	if got := s.AnalysisProviderTypes(); len(got) != 3 || got["prometheus-dev"] != "PROMETHEUS" || got["cloudwatch"] != "CLOUDWATCH" {
		t.Errorf("AnalysisProviderTypes() = %v", got)
	}
	if w := s.Notifications.Receivers[2].Webhook; w == nil || w.SignatureKey != "" {
		t.Errorf("webhook = %+v (no signatureKey: no static signature header)", w)
	}
	if kp := s.SecretManagement.KeyPair(); kp == nil || kp.PrivateKeyEnv != "PIPE_PRIVATE_KEY" {
		t.Errorf("secret management = %+v", s.SecretManagement)
	}
	if s.ChartRepositories[0].Type != "HTTP" || s.ChartRepositories[1].Type != "GIT" || s.ChartRegistries[0].Type != "OCI" {
		t.Errorf("chart types = %q, %q, %q", s.ChartRepositories[0].Type, s.ChartRepositories[1].Type, s.ChartRegistries[0].Type)
	}
	if s.Git.NotesRef != "refs/notes/pipe-prod" || s.Git.Remote != "origin" || s.Git.Author.Email != "pipe@example.com" {
		t.Errorf("git = %+v", s.Git)
	}
}

func TestPipeConfigDefaults(t *testing.T) {
	f, ds := checkSpec(t, ".pipe/config.yaml", pipeDoc("  {}\n"), "", "")
	if len(ds) > 0 {
		t.Fatalf("diagnostics:\n%s", ds.Error())
	}
	s := f.Spec.(*PipeSpec)
	if s.Git.NotesRef != "refs/notes/pipe" || s.Git.Remote != "origin" {
		t.Errorf("git defaults = %+v", s.Git)
	}
	if s.SecretManagement != nil || len(s.PlatformProviders) != 0 || s.AnalysisProviderTypes() == nil {
		t.Errorf("empty config = %+v", s)
	}
}

// TestPipeConfigInlineSecrets checks that PipeCD's inline credential fields
// are recognized and rejected with the File/Env fields to use instead, and
// that the secret itself is never echoed.
func TestPipeConfigInlineSecrets(t *testing.T) {
	const secret = "s3cr3t-value"
	tests := []struct {
		name, body, path, hint string
		line                   int
	}{
		{"slack hookURL", "  notifications:\n    receivers:\n      - name: s\n        slack:\n          hookURL: https://hooks.slack.com/" + secret + "\n",
			"spec.notifications.receivers[0].slack.hookURL", "`hookURLEnv`", 8},
		{"slack oauthTokenData", "  notifications:\n    receivers:\n      - name: s\n        slack: {oauthTokenData: " + secret + ", channelID: C1}\n",
			"spec.notifications.receivers[0].slack.oauthTokenData", "`oauthTokenFile`", 7},
		{"webhook signatureValue", "  notifications:\n    receivers:\n      - name: w\n        webhook:\n          url: https://x.example\n          signatureValue: " + secret + "\n",
			"spec.notifications.receivers[0].webhook.signatureValue", "`signatureValueEnv`", 9},
		{"chart repository password", "  chartRepositories:\n    - name: r\n      address: https://charts.example.com\n      username: u\n      password: " + secret + "\n",
			"spec.chartRepositories[0].password", "`passwordEnv`", 8},
		{"chart registry password", "  chartRegistries:\n    - {address: ghcr.io, username: u, password: " + secret + "}\n",
			"spec.chartRegistries[0].password", "`passwordFile`", 5},
		{"datadog apiKeyData", "  analysisProviders:\n    - name: dd\n      type: DATADOG\n      config:\n        apiKeyData: " + secret + "\n        applicationKeyEnv: DD_APP\n",
			"spec.analysisProviders[0].config.apiKeyData", "`apiKeyEnv`", 8},
		{"prometheus password", "  analysisProviders:\n    - name: p\n      type: PROMETHEUS\n      config: {address: http://p:9090, usernameEnv: U, password: " + secret + "}\n",
			"spec.analysisProviders[0].config.password", "`passwordFile`", 7},
		{"key pair privateKeyData", "  secretManagement:\n    type: KEY_PAIR\n    config:\n      privateKeyData: " + secret + "\n",
			"spec.secretManagement.config.privateKeyData", "`privateKeyEnv`", 7},
		{"aws secret key", "  platformProviders:\n    - name: l\n      type: LAMBDA\n      config: {region: us-east-1, secretAccessKey: " + secret + "}\n",
			"spec.platformProviders[0].config.secretAccessKey", "AWS_SECRET_ACCESS_KEY", 7},
		{"cloud run credentials", "  platformProviders:\n    - name: r\n      type: CLOUDRUN\n      config: {project: p, region: r, credentials: " + secret + "}\n",
			"spec.platformProviders[0].config.credentials", "`credentialsFile`", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := checkSpec(t, ".pipe/config.yaml", pipeDoc(tt.body), "", "")
			assertDiag(t, ds, SeverityError, tt.path, tt.line, "inline secret: ", tt.hint)
			if len(ds) != 1 {
				t.Errorf("want only the inline secret error, got:\n%s", ds.Error())
			}
			if out := ds.Error(); strings.Contains(out, secret) {
				t.Errorf("the secret is echoed:\n%s", out)
			}
		})
	}
}

func TestPipeConfigDiagnostics(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		severity Severity
		path     string
		line     int
		message  string
		hint     string
	}{
		{"duplicate platform provider", "  platformProviders:\n    - {name: k, type: KUBERNETES}\n    - {name: k, type: TERRAFORM}\n",
			SeverityError, "spec.platformProviders[1].name", 6, `duplicate platform provider name "k"`, "first defined at line 5"},
		{"duplicate analysis provider", "  analysisProviders:\n    - {name: p, type: PROMETHEUS, config: {address: http://a}}\n    - {name: p, type: CLOUDWATCH, config: {region: r}}\n",
			SeverityError, "spec.analysisProviders[1].name", 6, `duplicate analysis provider name "p"`, ""},
		{"duplicate receiver", "  notifications:\n    receivers:\n      - {name: r, webhook: {url: https://a}}\n      - {name: r, webhook: {url: https://b}}\n",
			SeverityError, "spec.notifications.receivers[1].name", 7, `duplicate receiver name "r"`, ""},
		{"route to unknown receiver", "  notifications:\n    routes:\n      - {name: all, receiver: slak}\n    receivers:\n      - {name: slack, webhook: {url: https://a}}\n",
			SeverityError, "spec.notifications.routes[0].receiver", 6, `route "all" sends to receiver "slak", which is not defined`, `did you mean "slack"?`},
		{"route without receivers", "  notifications:\n    routes:\n      - {name: all, receiver: slack}\n",
			SeverityError, "spec.notifications.routes[0].receiver", 6, "which is not defined", "notifications.receivers"},
		{"unknown event", "  notifications:\n    routes:\n      - {name: all, receiver: r, events: [DEPLOYMENT_SUCEEDED]}\n    receivers:\n      - {name: r, webhook: {url: https://a}}\n",
			SeverityWarning, "spec.notifications.routes[0].events[0]", 6, "unknown event", `did you mean "DEPLOYMENT_SUCCEEDED"?`},
		{"piped event", "  notifications:\n    routes:\n      - {name: all, receiver: r, groups: [PIPED]}\n    receivers:\n      - {name: r, webhook: {url: https://a}}\n",
			SeverityWarning, "spec.notifications.routes[0].groups[0]", 6, "pipe never sends event group PIPED", ""},
		{"receiver without destination", "  notifications:\n    receivers:\n      - name: r\n",
			SeverityError, "spec.notifications.receivers[0]", 6, `receiver "r" has no destination`, "`slack:` or `webhook:`"},
		{"slack hook and api", "  notifications:\n    receivers:\n      - name: r\n        slack: {hookURLEnv: H, channelID: C}\n",
			SeverityError, "spec.notifications.receivers[0].slack", 7, "both hookURL and the Web API", ""},
		{"slack file and env", "  notifications:\n    receivers:\n      - name: r\n        slack: {hookURLEnv: H, hookURLFile: /h}\n",
			SeverityError, "spec.notifications.receivers[0].slack.hookURLEnv", 7, "`hookURLFile` and `hookURLEnv` are both set", ""},
		{"secret pasted into Env", "  notifications:\n    receivers:\n      - name: r\n        slack:\n          hookURLEnv: https://hooks.slack.com/services/T/B/X\n",
			SeverityError, "spec.notifications.receivers[0].slack.hookURLEnv", 8, "not an environment variable name", "not the secret itself"},
		{"env with dollar", "  analysisProviders:\n    - name: dd\n      type: DATADOG\n      config: {apiKeyEnv: $DD_API_KEY, applicationKeyEnv: DD_APP}\n",
			SeverityError, "spec.analysisProviders[0].config.apiKeyEnv", 7, "has no `$`", "DD_API_KEY"},
		{"datadog missing key", "  analysisProviders:\n    - name: dd\n      type: DATADOG\n      config: {apiKeyEnv: DD_API_KEY}\n",
			SeverityError, "spec.analysisProviders[0].config", 7, "missing applicationKey", "`applicationKeyEnv`"},
		{"stackdriver", "  analysisProviders:\n    - name: sd\n      type: STACKDRIVER\n      config: {serviceAccountFile: /sa.json}\n",
			SeverityError, "spec.analysisProviders[0].type", 6, "STACKDRIVER is not supported", "PROMETHEUS, DATADOG and CLOUDWATCH"},
		{"unknown analysis type", "  analysisProviders:\n    - {name: x, type: prometheus}\n",
			SeverityError, "spec.analysisProviders[0].type", 5, `invalid value "prometheus"`, `did you mean "PROMETHEUS"?`},
		{"unknown platform type", "  platformProviders:\n    - {name: x, type: GKE}\n",
			SeverityError, "spec.platformProviders[0].type", 5, `invalid value "GKE"`, "KUBERNETES"},
		{"missing type", "  platformProviders:\n    - {name: x}\n",
			SeverityError, "spec.platformProviders[0].type", 5, "missing required field `type`", ""},
		{"missing config field", "  platformProviders:\n    - name: l\n      type: LAMBDA\n",
			SeverityError, "spec.platformProviders[0].config.region", 5, "missing required field `region`", ""},
		{"unknown config field", "  platformProviders:\n    - name: k\n      type: KUBERNETES\n      config: {kubeconfig: /k}\n",
			SeverityError, "spec.platformProviders[0].config.kubeconfig", 7, "unknown field `kubeconfig`", "`kubeConfigPath`"},
		{"piped-only kubernetes field", "  platformProviders:\n    - name: k\n      type: KUBERNETES\n      config: {appStateInformer: {namespace: web}}\n",
			SeverityError, "spec.platformProviders[0].config.appStateInformer", 7, "unknown field", "`namespace`"},
		{"empty kubeConfigPath", "  platformProviders:\n    - name: k\n      type: KUBERNETES\n      config: {kubeConfigPath: ''}\n",
			SeverityError, "spec.platformProviders[0].config.kubeConfigPath", 7, "path is empty", ""},
		{"empty File path", "  chartRepositories:\n    - {type: GIT, gitRemote: 'git@x:y.git', sshKeyFile: ''}\n",
			SeverityError, "spec.chartRepositories[0].sshKeyFile", 5, "path is empty", ""},
		{"token file without role", "  analysisProviders:\n    - name: cw\n      type: CLOUDWATCH\n      config: {region: r, tokenFile: /t}\n",
			SeverityError, "spec.analysisProviders[0].config.tokenFile", 7, "tokenFile needs roleARN", ""},
		{"prometheus half basic auth", "  analysisProviders:\n    - name: p\n      type: PROMETHEUS\n      config: {address: http://p, passwordEnv: P}\n",
			SeverityError, "spec.analysisProviders[0].config", 7, "set both the username and the password", ""},
		{"prometheus address", "  analysisProviders:\n    - name: p\n      type: PROMETHEUS\n      config: {address: 'prometheus:9090'}\n",
			SeverityError, "spec.analysisProviders[0].config.address", 7, "is not an http(s) URL", ""},
		{"http chart repository without address", "  chartRepositories:\n    - name: r\n",
			SeverityError, "spec.chartRepositories[0]", 5, "needs an address", ""},
		{"duplicate chart repository", "  chartRepositories:\n    - {name: r, address: https://a}\n    - {name: r, address: https://b}\n",
			SeverityError, "spec.chartRepositories[1].name", 6, `duplicate chart repository name "r"`, ""},
		{"secret management layout", "  secretManagement:\n    type: KEY_PAIR\n    keyPair: {privateKeyFile: /k}\n",
			SeverityError, "spec.secretManagement.keyPair", 6, "unknown field `keyPair`", "under `config:`"},
		{"secret management type", "  secretManagement:\n    type: VAULT\n",
			SeverityError, "spec.secretManagement.type", 5, `invalid value "VAULT"`, "AGE, KEY_PAIR, AWS_KMS"},
		{"gcp kms key name", "  secretManagement:\n    type: GCP_KMS\n    config: {keyName: my-key}\n",
			SeverityError, "spec.secretManagement.config.keyName", 6, "is not a KMS key name", ""},
		{"notes ref", "  git:\n    notesRef: refs/heads/main\n",
			SeverityError, "spec.git.notesRef", 5, "must be under refs/notes/", ""},
		{"notes ref format", "  git:\n    notesRef: refs/notes/pipe..x\n",
			SeverityError, "spec.git.notesRef", 5, `must not contain ".."`, ""},
		{"piped git field", "  git:\n    username: bot\n",
			SeverityError, "spec.git.username", 5, "unknown field `username`", "`author.name`"},
		{"piped-only field", "  pipedID: abc\n",
			SeverityError, "spec.pipedID", 4, "unknown field `pipedID`", "pipe has none"},
		{"deprecated cloudProviders", "  cloudProviders: []\n",
			SeverityError, "spec.cloudProviders", 4, "unknown field", "`platformProviders`"},
		{"author email", "  git:\n    author: {email: 'Pipe <pipe@example.com>'}\n",
			SeverityError, "spec.git.author.email", 5, "invalid e-mail address", "bare address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := checkSpec(t, ".pipe/config.yaml", pipeDoc(tt.body), "", "")
			assertDiag(t, ds, tt.severity, tt.path, tt.line, tt.message, tt.hint)
		})
	}
}
