package cli

import (
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/platform/kubernetes"
)

// kubeFlags are the standard kubectl connection flags (--kubeconfig,
// --context, --namespace, --server, --token...) plus the platform provider
// to take the defaults from.
type kubeFlags struct {
	flags    *genericclioptions.ConfigFlags
	provider string
}

func addKubeFlags(cmd *cobra.Command) *kubeFlags {
	k := &kubeFlags{flags: genericclioptions.NewConfigFlags(true)}
	k.flags.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&k.provider, "platform-provider", "", "the KUBERNETES platform provider of .pipe/config.yaml to deploy to (default: the one whose labels match the app's)")
	return k
}

// connect opens the cluster of an application: the connection flags win
// over the platform provider's settings, which win over the kubeconfig
// defaults ($KUBECONFIG, ~/.kube/config, in-cluster).
func (k *kubeFlags) connect(cfg *config.PipeSpec, ap *config.App) (*kubernetes.Client, string, error) {
	p, err := k.pickProvider(cfg, ap)
	if err != nil {
		return nil, "", err
	}
	where := "the current kubeconfig context"
	flags := k.clone()
	if p != nil {
		where = "platform provider " + p.Name
		if pc, ok := p.Config.(*config.KubernetesProviderConfig); ok && pc != nil {
			setDefault(&flags.KubeConfig, string(pc.KubeConfigPath))
			setDefault(&flags.Context, pc.Context)
			setDefault(&flags.Namespace, pc.Namespace)
			setDefault(&flags.APIServer, pc.MasterURL)
		}
	}
	c, err := kubernetes.New(flags, kubernetes.Options{UserAgent: "pipe/" + buildVersion().Version})
	if err != nil {
		return nil, where, &Error{Code: ExitFailed, Summary: "cannot connect to the cluster (" + where + ")", Detail: err.Error(),
			Hint: "set KUBECONFIG or --kubeconfig/--context, or a KUBERNETES platform provider in .pipe/config.yaml"}
	}
	return c, where, nil
}

// clone copies the connection settings given on the command line, so that
// each application's provider defaults apply to its own copy.
func (k *kubeFlags) clone() *genericclioptions.ConfigFlags {
	f := genericclioptions.NewConfigFlags(true)
	src := k.flags
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

func (k *kubeFlags) pickProvider(cfg *config.PipeSpec, ap *config.App) (*config.PlatformProvider, error) {
	return pickPlatformProvider(cfg, ap, config.PlatformKubernetes, k.provider)
}

// pickPlatformProvider picks the platform provider of type typ of an app:
// the one named (--platform-provider), else the one whose labels match the
// app's; nil when none matches.
func pickPlatformProvider(cfg *config.PipeSpec, ap *config.App, typ, named string) (*config.PlatformProvider, error) {
	if cfg == nil {
		if named != "" {
			return nil, usageError("--platform-provider %s: the repository has no %s", named, config.RepoConfigFile)
		}
		return nil, nil
	}
	var ofType []*config.PlatformProvider
	for i := range cfg.PlatformProviders {
		if strings.EqualFold(cfg.PlatformProviders[i].Type, typ) {
			ofType = append(ofType, &cfg.PlatformProviders[i])
		}
	}
	if named != "" {
		for _, p := range ofType {
			if p.Name == named {
				return p, nil
			}
		}
		return nil, usageError("no %s platform provider named %q in %s", typ, named, config.RepoConfigFile)
	}
	var match []*config.PlatformProvider
	for _, p := range ofType {
		if labelsMatch(p.Labels, ap.Labels) {
			match = append(match, p)
		}
	}
	switch len(match) {
	case 0:
		return nil, nil
	case 1:
		return match[0], nil
	}
	var names []string
	for _, p := range match {
		names = append(names, p.Name)
	}
	return nil, usageError("%d %s platform providers match %s: %s; choose one with --platform-provider or give them labels",
		len(match), typ, ap.Name, strings.Join(names, ", "))
}

// labelsMatch reports whether every label of the provider is on the app.
func labelsMatch(provider, app map[string]string) bool {
	for _, k := range slices.Sorted(maps.Keys(provider)) {
		if app[k] != provider[k] {
			return false
		}
	}
	return true
}
