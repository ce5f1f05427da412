package kubernetes

import (
	"errors"
	"fmt"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/platform"
)

// Connector opens the cluster of an application: the connection flags
// given on the command line win over the settings of the application's
// KUBERNETES platform provider, which win over the kubeconfig defaults
// ($KUBECONFIG, ~/.kube/config, in-cluster).
type Connector struct {
	// Flags are kubectl's connection flags (--kubeconfig, --context,
	// --namespace, --server, --token...); nil means none were given.
	Flags *genericclioptions.ConfigFlags
	// Config is the repository's .pipe/config.yaml (nil when it has none).
	Config *config.PipeSpec
	// Provider names the platform provider to use (--platform-provider);
	// empty picks the one whose labels match the application's.
	Provider string
	// Options tune the clients.
	Options Options
	// Untrusted is set when planning a change nobody has reviewed (a pull
	// request): a kubeconfig in the working tree Root is refused, and so
	// is an exec credential plugin the provider does not allow
	// (allowExecPluginInPlans). See platform.Env.Untrusted.
	Untrusted bool
	Root      string
}

// ErrConnect is wrapped by the errors of Connect.
var ErrConnect = errors.New("cannot connect to the cluster")

// flags returns the connection settings of an application: the command
// line's, with the provider's settings as defaults; where says where they
// come from, in words.
func (c *Connector) flags(app *config.App) (flags *genericclioptions.ConfigFlags, provider string, where string, err error) {
	p, err := c.Config.PlatformProviderFor(app, config.PlatformKubernetes, c.Provider)
	if err != nil {
		return nil, "", "", err
	}
	where = "the current kubeconfig context"
	flags = cloneFlags(c.Flags)
	if p != nil {
		provider = p.Name
		where = "platform provider " + p.Name
		if pc := p.Kubernetes(); pc != nil {
			setDefault(&flags.KubeConfig, string(pc.KubeConfigPath))
			setDefault(&flags.Context, pc.Context)
			setDefault(&flags.Namespace, pc.Namespace)
			setDefault(&flags.APIServer, pc.MasterURL)
		}
	}
	return flags, provider, where, nil
}

// Connect returns a client of the application's cluster and where its
// settings come from. It reads the kubeconfig but sends no request.
func (c *Connector) Connect(app *config.App) (*Client, string, error) {
	flags, _, where, err := c.flags(app)
	if err != nil {
		return nil, "", err
	}
	if c.Untrusted {
		if err := c.checkUntrusted(app, flags, where); err != nil {
			return nil, where, err
		}
	}
	cl, err := New(flags, c.Options)
	if err != nil {
		return nil, where, fmt.Errorf("%w (%s): %v; set KUBECONFIG or --kubeconfig/--context, or a KUBERNETES platform provider in %s",
			ErrConnect, where, err, config.RepoConfigFile)
	}
	return cl, where, nil
}

// checkUntrusted refuses, in a plan of an unreviewed change, connection
// settings the change could have chosen: a kubeconfig file inside the
// working tree (the change can edit it: an exec plugin, a server of its
// choosing for the runner's credentials), and an exec credential plugin
// the trusted provider does not allow.
func (c *Connector) checkUntrusted(app *config.App, flags *genericclioptions.ConfigFlags, where string) error {
	loader := flags.ToRawKubeConfigLoader()
	for _, f := range loader.ConfigAccess().GetLoadingPrecedence() {
		if platform.InWorkTree(c.Root, f) {
			return fmt.Errorf("%w (%s): the kubeconfig %s is inside the repository, so this pull request can change it; "+
				"a plan of a pull request reads no credentials from the checkout: keep the kubeconfig outside it (e.g. written from a CI secret to $RUNNER_TEMP)",
				ErrConnect, where, f)
		}
	}
	raw, err := loader.RawConfig()
	if err != nil {
		return nil // New reports it
	}
	ctxName := raw.CurrentContext
	if flags.Context != nil && *flags.Context != "" {
		ctxName = *flags.Context
	}
	user := ""
	if kc := raw.Contexts[ctxName]; kc != nil {
		user = kc.AuthInfo
	}
	if flags.AuthInfoName != nil && *flags.AuthInfoName != "" {
		user = *flags.AuthInfoName
	}
	ai := raw.AuthInfos[user]
	if ai == nil || ai.Exec == nil {
		return nil
	}
	if p, _ := c.Config.PlatformProviderFor(app, config.PlatformKubernetes, c.Provider); p != nil {
		if pc := p.Kubernetes(); pc != nil && pc.AllowExecPluginInPlans {
			return nil
		}
	}
	return fmt.Errorf("%w (%s): the kubeconfig user %q gets its credentials from the exec plugin %q, which a plan of a pull request does not run; "+
		"if the plugin is trusted (aws, gke-gcloud-auth-plugin...), set allowExecPluginInPlans: true on the KUBERNETES platform provider in the base branch's %s, "+
		"or plan without --live", ErrConnect, where, user, ai.Exec.Command, config.RepoConfigFile)
}

// key names the connection of an application: apps with the same key
// share one client (and one listing of the cluster in a drift check).
func (c *Connector) key(app *config.App) (string, error) {
	_, provider, _, err := c.flags(app)
	return provider, err
}

// Namespace is the namespace objects without one go to, from the
// connection settings alone (the kubeconfig is read, no request is sent);
// "" when they cannot be read (no kubeconfig: an offline plan).
func (c *Connector) Namespace(app *config.App) string {
	flags, _, _, err := c.flags(app)
	if err != nil {
		return ""
	}
	ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return ""
	}
	return ns
}

// cloneFlags copies the connection settings given on the command line, so
// that each application's provider defaults apply to its own copy.
func cloneFlags(src *genericclioptions.ConfigFlags) *genericclioptions.ConfigFlags {
	f := genericclioptions.NewConfigFlags(true)
	if src == nil {
		return f
	}
	f.CacheDir, f.KubeConfig, f.ClusterName, f.AuthInfoName = src.CacheDir, src.KubeConfig, src.ClusterName, src.AuthInfoName
	f.Context, f.Namespace, f.APIServer, f.TLSServerName = src.Context, src.Namespace, src.APIServer, src.TLSServerName
	f.Insecure, f.CertFile, f.KeyFile, f.CAFile, f.BearerToken = src.Insecure, src.CertFile, src.KeyFile, src.CAFile, src.BearerToken
	f.Impersonate, f.ImpersonateUID, f.ImpersonateGroup, f.ImpersonateUserExtra = src.Impersonate, src.ImpersonateUID, src.ImpersonateGroup, src.ImpersonateUserExtra
	f.Username, f.Password, f.Timeout, f.DisableCompression, f.ProxyURL = src.Username, src.Password, src.Timeout, src.DisableCompression, src.ProxyURL
	return f
}

func setDefault(p **string, v string) {
	if v == "" {
		return
	}
	if *p == nil || **p == "" {
		*p = &v
	}
}
