package render

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
)

// kustomize builds the application directory in-process, like `kustomize
// build` with input.kustomizeOptions. Remote bases and resources are
// fetched first (through r.Git and r.HTTP) and helmCharts rendered with
// pipe's Helm code: kustomize then builds from a file system where those
// entries point at the fetched trees and rendered files (see kbuild), so
// that it never runs git or helm nor reaches the network itself. Every
// file kustomize reads must be in the tree or in a fetched one.
func (r *Renderer) kustomize(ctx context.Context, a *appTree) ([]rendered, error) {
	kfile := a.rel(filepath.Join(a.dir, a.kustomization()))
	opts, err := kustomizeOptions(a.input.KustomizeOptions)
	if err != nil {
		return nil, &Error{File: a.configFile(), Err: err}
	}
	b := newKbuild(ctx, r, a, opts)
	defer b.cleanup()
	if err := b.prepare(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := krusty.MakeKustomizer(opts.krusty).Run(b.fs, a.dir)
	if err != nil {
		if v := b.fs.violation(); v != nil {
			return nil, &Error{File: kfile, Err: fmt.Errorf("kustomize build: %w", v)}
		}
		return nil, &Error{File: kfile, Err: fmt.Errorf("kustomize build: %s", b.fs.relPaths(err.Error()))}
	}
	out := make([]rendered, 0, m.Size())
	for i, res := range m.Resources() {
		b, err := res.MarshalJSON()
		if err != nil {
			return nil, &Error{File: kfile, Err: fmt.Errorf("kustomize output %d: %w", i+1, err)}
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(b, &obj); err != nil {
			return nil, &Error{File: kfile, Err: fmt.Errorf("kustomize output %d: %w", i+1, err)}
		}
		u := &unstructured.Unstructured{Object: obj}
		if err := checkObject(u); err != nil {
			return nil, &Error{File: kfile, Err: fmt.Errorf("kustomize output %d (%s): %w", i+1, res.CurId(), err)}
		}
		out = append(out, rendered{obj: u, src: Source{File: kfile, Doc: i, Item: -1}})
	}
	return out, nil
}

// kustOptions are input.kustomizeOptions: krusty's options, and those of
// kustomize's Helm support.
type kustOptions struct {
	krusty *krusty.Options
	// helm is --enable-helm: helmCharts are rendered only with it.
	helm bool
	// helmKubeVersion and helmAPIVersions (--helm-kube-version,
	// --helm-api-versions) override those of every chart.
	helmKubeVersion string
	helmAPIVersions []string
}

// kustomizeOptions maps input.kustomizeOptions (flags of `kustomize build`,
// by name without dashes) to krusty options. Flags that need an external
// program are refused; those of kustomize's Helm support are taken for
// pipe's in-process Helm.
func kustomizeOptions(in map[string]string) (*kustOptions, error) {
	ko := &kustOptions{krusty: krusty.MakeDefaultOptions()}
	opts := ko.krusty
	// Like the kustomize CLI: the kustomization's sortOptions, else legacy order.
	opts.Reorder = krusty.ReorderOptionUnspecified
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(in[k])
		name := strings.TrimLeft(k, "-")
		bad := func(format string, args ...any) error {
			return fmt.Errorf("kustomizeOptions.%s: %s", k, fmt.Sprintf(format, args...))
		}
		switch name {
		case "load-restrictor", "load_restrictor":
			switch strings.ToLower(v) {
			case "loadrestrictionsnone", "none":
				opts.LoadRestrictions = types.LoadRestrictionsNone
			case "loadrestrictionsrootonly", "rootonly":
				opts.LoadRestrictions = types.LoadRestrictionsRootOnly
			default:
				return nil, bad("%q is not a load restrictor (LoadRestrictionsRootOnly or LoadRestrictionsNone)", v)
			}
		case "enable-managedby-label", "enable_managedby_label":
			b, err := flagBool(v)
			if err != nil {
				return nil, bad("%v", err)
			}
			opts.AddManagedbyLabel = b
		case "reorder":
			switch v {
			case "legacy":
				opts.Reorder = krusty.ReorderOptionLegacy
			case "none":
				opts.Reorder = krusty.ReorderOptionNone
			default:
				return nil, bad("%q is not an order (legacy or none)", v)
			}
		case "enable-helm", "enable_helm":
			b, err := flagBool(v)
			if err != nil {
				return nil, bad("%v", err)
			}
			ko.helm = b
		case "helm-kube-version":
			ko.helmKubeVersion = v
		case "helm-api-versions":
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					ko.helmAPIVersions = append(ko.helmAPIVersions, s)
				}
			}
		case "helm-command", "helm-debug":
			// pipe renders charts in-process: no helm program to choose,
			// nothing to debug in its output.
		case "enable-alpha-plugins", "enable-exec", "enable-star", "mount", "network", "network-name", "env", "e", "as-current-user":
			return nil, bad("KRM function plugins run containers or programs, and pipe renders in-process only")
		case "output", "o", "stack-trace":
			// Output options of the CLI: nothing to render differently.
		default:
			return nil, bad("unknown or unsupported option (supported: load-restrictor, enable-managedby-label, reorder, enable-helm, helm-kube-version, helm-api-versions)")
		}
	}
	return ko, nil
}

func flagBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean", v)
}
