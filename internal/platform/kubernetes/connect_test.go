package kubernetes

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/gitops-pipe/pipe/internal/config"
)

const twoContexts = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://a.example:6443"}
- name: b
  cluster: {server: "https://b.example:6443"}
users:
- name: u
  user: {token: t}
contexts:
- name: a
  context: {cluster: a, user: u, namespace: from-context-a}
- name: b
  context: {cluster: b, user: u, namespace: from-context-b}
current-context: a
`

// The command line's connection flags win over the platform provider's
// settings, which win over the kubeconfig's current context; no request
// is sent to connect.
func TestConnectorPrecedence(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := &config.PipeSpec{PlatformProviders: []config.PlatformProvider{
		{Name: "prod", Type: config.PlatformKubernetes, Labels: map[string]string{"env": "prod"},
			Config: &config.KubernetesProviderConfig{KubeConfigPath: config.HostPath(kc), Context: "b", Namespace: "from-provider"}},
	}}
	prodApp := &config.App{Name: "web", Labels: map[string]string{"env": "prod"}}
	devApp := &config.App{Name: "api", Labels: map[string]string{"env": "dev"}}
	flags := func(set func(f *genericclioptions.ConfigFlags)) *genericclioptions.ConfigFlags {
		f := genericclioptions.NewConfigFlags(false)
		set(f)
		return f
	}
	for _, tc := range []struct {
		name            string
		flags           *genericclioptions.ConfigFlags
		app             *config.App
		host, ns, where string
	}{
		{"the provider's context and namespace", flags(func(*genericclioptions.ConfigFlags) {}), prodApp, "https://b.example:6443", "from-provider", "platform provider prod"},
		{"--context and --namespace win", flags(func(f *genericclioptions.ConfigFlags) {
			ctx, ns := "a", "from-flag"
			f.Context, f.Namespace = &ctx, &ns
		}), prodApp, "https://a.example:6443", "from-flag", "platform provider prod"},
		{"no provider matches: the kubeconfig", flags(func(f *genericclioptions.ConfigFlags) { f.KubeConfig = &kc }), devApp, "https://a.example:6443", "from-context-a", "the current kubeconfig context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Connector{Flags: tc.flags, Config: spec}
			cl, where, err := c.Connect(tc.app)
			if err != nil {
				t.Fatal(err)
			}
			if cl.Host() != tc.host || cl.Namespace() != tc.ns || where != tc.where {
				t.Errorf("host %s namespace %s where %q; want %s %s %q", cl.Host(), cl.Namespace(), where, tc.host, tc.ns, tc.where)
			}
			if got := c.Namespace(tc.app); got != tc.ns {
				t.Errorf("Namespace without connecting = %q, want %q", got, tc.ns)
			}
		})
	}
	// Applications of one provider share a connection key.
	c := &Connector{Config: spec}
	if k1, _ := c.key(prodApp); k1 != "prod" {
		t.Errorf("key %q", k1)
	}
	if k2, _ := c.key(devApp); k2 != "" {
		t.Errorf("key %q", k2)
	}
	// A provider named on the command line that does not exist.
	c.Provider = "staging"
	if _, _, err := c.Connect(prodApp); !errors.Is(err, config.ErrProviderChoice) || !strings.Contains(err.Error(), `no KUBERNETES platform provider named "staging"`) {
		t.Errorf("err = %v", err)
	}
}
