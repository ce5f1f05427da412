//go:build unix

package startup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runEnv is the environment of every program run, hello-world's included:
// no CI variables, a HOME of its own, no colour, a git identity.
func runEnv(home string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"NO_COLOR=1",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com",
	}
	return append(env, extra...)
}

// appConfig is the configuration of the application web in namespace ns.
func appConfig(ns string) string {
	return `apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: web
  input:
    namespace: ` + ns + `
    autoCreateNamespace: true
`
}

// oneAppRepo makes a git repository of one KubernetesApp (a Deployment and
// a Service), as `pipe validate` sees a small repository.
func oneAppRepo(b *testing.B, dir string, env []string) {
	b.Helper()
	writeFile(b, filepath.Join(dir, "apps/web/app.pipecd.yaml"), appConfig("web"))
	writeFile(b, filepath.Join(dir, "apps/web/deployment.yaml"), deployment(0, "web", "1"))
	writeFile(b, filepath.Join(dir, "apps/web/service.yaml"), service(0, "web"))
	git(b, dir, env, "init", "-q", "-b", "main")
	commitAll(b, dir, env, "web v1")
}

// appObjects is an application of 300 objects in namespace ns: 100
// ConfigMaps, 100 Services and 100 Deployments of 1 replica, the first
// `changed` Deployments with image tag 2, the others with tag 1.
func appObjects(ns string, changed int) string {
	var sb strings.Builder
	for i := 0; i < 100; i++ {
		tag := "1"
		if i < changed {
			tag = "2"
		}
		fmt.Fprintf(&sb, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg-%d, namespace: %s}\ndata: {GREETING: hello-%d, LEVEL: info}\n---\n", i, ns, i)
		sb.WriteString(service(i, ns) + "---\n" + deployment(i, ns, tag))
		if i < 99 {
			sb.WriteString("---\n")
		}
	}
	return sb.String()
}

func service(i int, ns string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: web-%[1]d, namespace: %[2]s, labels: {app: web-%[1]d}}
spec:
  selector: {app: web-%[1]d}
  ports: [{name: http, port: 80, targetPort: 8080}]
`, i, ns)
}

func deployment(i int, ns, tag string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web-%[1]d, namespace: %[2]s, labels: {app: web-%[1]d}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web-%[1]d}}
  template:
    metadata: {labels: {app: web-%[1]d}}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:%[3]s
        ports: [{containerPort: 8080}]
        resources: {requests: {cpu: 10m, memory: 16Mi}}
`, i, ns, tag)
}

func writeFile(b *testing.B, path, content string) {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}

func commitAll(b *testing.B, dir string, env []string, msg string) {
	b.Helper()
	git(b, dir, env, "add", "-A")
	git(b, dir, env, "commit", "-q", "-m", msg)
}

func git(b *testing.B, dir string, env []string, args ...string) {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
