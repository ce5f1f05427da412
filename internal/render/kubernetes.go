package render

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Renderer renders applications. Its fields are the only ways rendering
// reaches beyond the tree it is given; the zero value renders plain
// manifests, kustomizations and local charts. A Renderer is safe for
// concurrent use, and must not be copied after first use (it caches the
// chart repository indexes it downloaded).
type Renderer struct {
	// HTTP downloads from chart repositories and remote values files; nil
	// refuses them.
	HTTP *http.Client
	// Git fetches charts from other Git repositories (helmChart.gitRemote)
	// and kustomize's remote bases; nil refuses them. GoGitFetcher is the
	// implementation pipe uses.
	Git GitFetcher
	// ChartRepos are the chart repositories of .pipe/config.yaml that
	// helmChart.repository names (see ChartReposFromConfig).
	ChartRepos []ChartRepo
	// ChartRegistries are the OCI registries of .pipe/config.yaml with
	// their credentials (see ChartRegistriesFromConfig); a registry not
	// among them is read with the Docker credential file's, if any
	// (unless Untrusted).
	ChartRegistries []ChartRegistry
	// Untrusted is set on a pull request's plan, whose change chooses the
	// charts rendered: OCI registries are then read with the credentials
	// of ChartRegistries only, never with this machine's (the Docker
	// credential file, credential helpers), which would let a change put
	// charts of a private registry the runner is logged in to into its
	// plan.
	Untrusted bool
	// DefaultNamespace is the namespace of namespaced objects that name none
	// (when the application sets no input.namespace), for their keys; ""
	// means "default". It is also Helm's .Release.Namespace then.
	DefaultNamespace string
	// CacheDir is the directory of the download cache (charts, repository
	// indexes, remote values files, Git trees), shared by runs: what it
	// holds is verified before use. "" caches nothing.
	CacheDir string
	// Offline forbids the network: what is needed must be in CacheDir, and
	// what is not fails naming it.
	Offline bool
	// Warn receives warnings about the cache (a directory that cannot be
	// written, a corrupt entry removed); nil writes them to stderr.
	Warn func(msg string)

	fetch fetchState
}

// KubernetesApp is a Kubernetes application in a tree to render.
type KubernetesApp struct {
	// Name is the application name (spec.name): Helm's default release name.
	Name string
	// Root is the root of the tree to render: the repository's working tree
	// or a revision checked out to a directory. Nothing outside it is read.
	Root string
	// Dir is the application directory relative to Root, with forward
	// slashes ("." for the root).
	Dir string
	// ConfigFile is the base name of the application's config file; it is
	// never taken for a manifest.
	ConfigFile string
	Spec       *config.KubernetesApplicationSpec
	// DefaultNamespace, when set, is this application's
	// Renderer.DefaultNamespace (the namespace of the cluster it deploys
	// to): one Renderer, and its downloads, serve every cluster.
	DefaultNamespace string
}

// KubernetesAppOf describes a configured application found in the tree
// rooted at root (the tree may be another revision than the one the config
// was read from, as long as the application lives at the same place).
func KubernetesAppOf(root string, app *config.App) (KubernetesApp, error) {
	spec, ok := app.Spec.(*config.KubernetesApplicationSpec)
	if !ok {
		return KubernetesApp{}, fmt.Errorf("application %s is a %s, not a KubernetesApp", app.Name, app.Kind)
	}
	return KubernetesApp{Name: app.Name, Root: root, Dir: app.Dir, ConfigFile: path.Base(app.File), Spec: spec}, nil
}

// kustomizationFiles are the names kustomize looks for, in its order.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// Kubernetes renders the application like PipeCD's loader does: a Helm
// chart when input.helmChart is set, else kustomize when the application
// directory has a kustomization, else plain manifests. Then input.namespace
// is set on every namespaced object, and each object gets its key; two
// objects with one key are an error naming both sources.
func (r *Renderer) Kubernetes(ctx context.Context, app KubernetesApp) (*Manifests, error) {
	if app.Spec == nil {
		return nil, errors.New("no application spec")
	}
	t, err := newTree(app.Root)
	if err != nil {
		return nil, err
	}
	dir, err := t.resolve(t.root, cleanDir(app.Dir))
	if err != nil {
		return nil, fmt.Errorf("application directory: %w", err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("application directory %s does not exist in %s", app.Dir, app.Root)
	}
	a := &appTree{tree: t, dir: dir, app: app, input: &app.Spec.Input}
	ns := app.Spec.Input.Namespace
	var (
		method Method
		objs   []rendered
	)
	switch {
	case a.input.HelmChart != nil:
		method = MethodHelm
		objs, err = r.helm(ctx, a)
	case a.kustomization() != "":
		method = MethodKustomize
		objs, err = r.kustomize(ctx, a)
	default:
		method = MethodPlain
		objs, err = a.plain(ctx)
	}
	if err != nil {
		var re *Error
		if errors.As(err, &re) || ctx.Err() != nil {
			return nil, err
		}
		// The rest are about the application's input: locate them in its config.
		return nil, &Error{File: a.configFile(), Err: err}
	}
	return finish(method, objs, ns, r.defaultNamespace(app))
}

// appTree is one application being rendered.
type appTree struct {
	*tree
	// dir is the absolute application directory.
	dir   string
	app   KubernetesApp
	input *config.KubernetesDeploymentInput
}

func cleanDir(d string) string {
	d = path.Clean(strings.ReplaceAll(d, "\\", "/"))
	if d == "" {
		return "."
	}
	return d
}

// kustomization returns the kustomization file of the application
// directory, or "".
func (a *appTree) kustomization() string {
	for _, n := range kustomizationFiles {
		if st, err := os.Stat(filepath.Join(a.dir, n)); err == nil && !st.IsDir() {
			return n
		}
	}
	return ""
}

// configFile is the application config file, relative to the root.
func (a *appTree) configFile() string {
	return path.Join(cleanDir(a.app.Dir), a.app.ConfigFile)
}

// defaultNamespace is the namespace of app's namespaced objects that name
// none and set no input.namespace; "" means "default".
func (r *Renderer) defaultNamespace(app KubernetesApp) string {
	if app.DefaultNamespace != "" {
		return app.DefaultNamespace
	}
	return r.DefaultNamespace
}

// releaseNamespace is the namespace Helm renders into.
func (r *Renderer) releaseNamespace(a *appTree) string {
	if a.input.Namespace != "" {
		return a.input.Namespace
	}
	if ns := r.defaultNamespace(a.app); ns != "" {
		return ns
	}
	return "default"
}
