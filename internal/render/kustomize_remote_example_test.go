package render

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
	"sigs.k8s.io/yaml"
)

// The remote base of PipeCD's kustomize-remote-base example.
const exampleRemoteBase = "git@github.com:pipe-cd/manifests.git/kustomization/helloworld?ref=v0.1.2-15"

// exampleRemoteBaseApp copies PipeCD's kustomize-remote-base example
// (shared, read in place) to a new repository, its remote base rewritten
// to base, and returns the application.
func exampleRemoteBaseApp(t *testing.T, base string) KubernetesApp {
	t.Helper()
	src, err := filepath.Abs("../../../shared/pipecd-examples/v0/kubernetes/kustomize-remote-base")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Skipf("PipeCD examples not available: %v", err)
	}
	files := map[string]string{}
	for _, n := range []string{"kustomization.yaml", "app.pipecd.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		files["kustomize-remote-base/"+n] = string(b)
	}
	if !strings.Contains(files["kustomize-remote-base/kustomization.yaml"], exampleRemoteBase) {
		t.Fatalf("the example no longer has the remote base %s", exampleRemoteBase)
	}
	files["kustomize-remote-base/kustomization.yaml"] = strings.Replace(files["kustomize-remote-base/kustomization.yaml"], exampleRemoteBase, base, 1)
	root := writeFiles(t, t.TempDir(), files)
	rel := "kustomize-remote-base/app.pipecd.yaml"
	f := config.ReadFile(filepath.Join(root, filepath.FromSlash(rel)), rel)
	spec, ok := f.Spec.(*config.KubernetesApplicationSpec)
	if !ok {
		t.Fatalf("%s does not decode as a KubernetesApp: %s", rel, f.Diags.Error())
	}
	a, err := KubernetesAppOf(root, &config.App{Name: spec.Name, Kind: f.Kind, File: rel, Dir: "kustomize-remote-base", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// exampleRemoteBaseWant is what kustomize renders for the example:
// namePrefix, commonLabels (selectors included) and the image's new tag
// applied to the helloworld base.
const exampleRemoteBaseWant = `apiVersion: v1
kind: Service
metadata:
  name: kustomize-remote-base-helloworld
  labels: {app: kustomize-remote-base-helloworld}
spec:
  selector: {app: kustomize-remote-base-helloworld}
  ports:
  - {protocol: TCP, port: 9085, targetPort: 9085}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kustomize-remote-base-helloworld
  labels: {app: kustomize-remote-base-helloworld}
spec:
  replicas: 1
  selector:
    matchLabels: {app: kustomize-remote-base-helloworld}
  template:
    metadata:
      labels: {app: kustomize-remote-base-helloworld}
    spec:
      containers:
      - name: helloworld
        image: gcr.io/pipecd/helloworld:v0.10.0
        args: [server]
        ports:
        - containerPort: 9085
`

func checkExampleRemoteBase(t *testing.T, r *Renderer, a KubernetesApp) {
	t.Helper()
	m, err := r.Kubernetes(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != MethodKustomize {
		t.Errorf("method = %s", m.Method)
	}
	wantKeys(t, m, ":Service:default:kustomize-remote-base-helloworld", "apps:Deployment:default:kustomize-remote-base-helloworld")
	docs := strings.Split(exampleRemoteBaseWant, "---\n")
	for i, o := range m.Objects {
		var want, got any
		if err := yaml.Unmarshal([]byte(docs[i]), &want); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(o.Object.Object)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			gy, _ := yaml.Marshal(got)
			t.Errorf("object %d:\n%s\nwant:\n%s", i, gy, docs[i])
		}
		if o.Source.File != "kustomize-remote-base/kustomization.yaml" {
			t.Errorf("source = %+v", o.Source)
		}
	}
}

// manifestsRepo serves a pipe-cd/manifests lookalike under remotes: the
// helloworld base, tagged v0.1.2-15 like the example's ref, with a later
// commit on main.
func manifestsRepo(t *testing.T, remotes string) {
	t.Helper()
	pushFiles(t, remotes, "manifests.git", helloworldBase("gcr.io/pipecd/helloworld:v0.1.0"), "v0.1.2-15")
	pushFiles(t, remotes, "manifests.git", helloworldBase("gcr.io/pipecd/helloworld:v0.9.0"), "")
}

func TestPipeCDExampleKustomizeRemoteBaseOverHTTP(t *testing.T) {
	remotes := t.TempDir()
	srv := gitserver.StartHTTP(t, remotes, gitserver.HTTPOptions{})
	manifestsRepo(t, remotes)
	// The example's form (repo.git/path?ref=), on the local server.
	a := exampleRemoteBaseApp(t, srv.RepoURL("manifests.git")+"/kustomization/helloworld?ref=v0.1.2-15")
	checkExampleRemoteBase(t, gitRenderer(t, "", false), a)
}

func TestPipeCDExampleKustomizeRemoteBaseOverSSH(t *testing.T) {
	remotes := t.TempDir()
	srv := gitserver.StartSSH(t, remotes)
	manifestsRepo(t, remotes)
	a := exampleRemoteBaseApp(t, srv.RepoURL("manifests.git")+"/kustomization/helloworld?ref=v0.1.2-15")
	cache := t.TempDir()
	r := &Renderer{Git: &GoGitFetcher{TempDir: t.TempDir(), CacheDir: cache, Auth: sshAuth(t, srv)}}
	checkExampleRemoteBase(t, r, a)
	// Then offline, from the cache.
	checkExampleRemoteBase(t, gitRenderer(t, cache, true), a)
}
