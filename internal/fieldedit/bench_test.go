package fieldedit

import (
	"fmt"
	"strings"
	"testing"
)

// bigDeployment is a 200-line Deployment: probes, resources, volumes and
// environment variables, as real ones grow.
func bigDeployment() []byte {
	var b strings.Builder
	b.WriteString(`# Deployment of the web front end; the image is set by the event watcher.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  labels:
    app.kubernetes.io/name: web
    app.kubernetes.io/part-of: shop
  annotations:
    pipecd.dev/managed-by: piped
spec:
  replicas: 6
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}
  selector:
    matchLabels:
      app.kubernetes.io/name: web
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: gcr.io/pipecd/web:v0.1.0 # updated by pipe
          imagePullPolicy: IfNotPresent
          args: ["--port=8080", "--log-level=info"]
          ports:
            - name: http
              containerPort: 8080
          readinessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 5
          livenessProbe:
            httpGet: {path: /livez, port: http}
            initialDelaySeconds: 10
          resources:
            requests: {cpu: 250m, memory: 256Mi}
            limits: {cpu: "1", memory: 512Mi}
          volumeMounts:
            - name: config
              mountPath: /etc/web
          env:
`)
	lines := strings.Count(b.String(), "\n")
	tail := `      volumes:
        - name: config
          configMap:
            name: web-config
`
	for i := 0; lines < 200-strings.Count(tail, "\n"); i++ {
		fmt.Fprintf(&b, "            # setting %d\n            - name: SETTING_%d\n              value: \"value-%d\"\n", i, i, i)
		lines += 3
	}
	b.WriteString(tail)
	return []byte(b.String())
}

func BenchmarkYAMLDeployment(b *testing.B) {
	data := bigDeployment()
	if n := strings.Count(string(data), "\n"); n < 195 || n > 205 {
		b.Fatalf("the manifest has %d lines", n)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		res, err := YAML(data, "$.spec.template.spec.containers[0].image", fmt.Sprintf("gcr.io/pipecd/web:v0.%d.0", i+2))
		if err != nil || !res.Changed {
			b.Fatal(res.Changed, err)
		}
	}
}

func TestBigDeployment(t *testing.T) {
	data := bigDeployment()
	res, err := YAML(data, "$.spec.template.spec.containers[0].env[40].value", "changed")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(string(data), `"value-40"`, `"changed"`, 1); string(res.Out) != want {
		t.Errorf("got:\n%s", res.Out)
	}
}
