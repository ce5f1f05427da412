package render

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"helm.sh/helm/v4/pkg/strvals"
	"sigs.k8s.io/yaml"
)

// helmValues merges the values like `helm template -f ... --set ...
// --set-file ...`: values files in order, then setValues (sorted by key),
// then setFiles (sorted by key).
func (r *Renderer) helmValues(ctx context.Context, a *appTree, opts *config.InputHelmOptions) (map[string]any, error) {
	vals := map[string]any{}
	for i, f := range opts.ValueFiles {
		var (
			data []byte
			file string
			err  error
		)
		if u, perr := url.Parse(f); perr == nil && u.Scheme != "" && strings.Contains(f, "://") {
			if u.Scheme != "http" && u.Scheme != "https" {
				return nil, fmt.Errorf("helmOptions.valueFiles[%d]: scheme %q is not allowed for a values file (http or https)", i, u.Scheme)
			}
			file = f
			data, err = r.get(ctx, "the values file", f)
			if err != nil {
				return nil, fmt.Errorf("helmOptions.valueFiles[%d]: %w", i, err)
			}
		} else {
			p, err := a.resolve(a.dir, f)
			if err == nil && !within(a.dir, p) {
				err = fmt.Errorf("%q is outside the application directory: values files must be in it (PipeCD refuses others)", f)
			}
			if err != nil {
				return nil, fmt.Errorf("helmOptions.valueFiles[%d]: %w", i, err)
			}
			file = a.rel(p)
			if data, err = a.read(p, maxFileSize); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					err = fmt.Errorf("%s does not exist", a.rel(filepath.Join(a.dir, filepath.FromSlash(f))))
				}
				return nil, fmt.Errorf("helmOptions.valueFiles[%d]: %w", i, err)
			}
		}
		cur := map[string]any{}
		if err := yaml.Unmarshal(data, &cur); err != nil {
			return nil, yamlError(file, 1, err)
		}
		vals = mergeMaps(vals, cur)
	}
	for _, k := range sortedKeys(opts.SetValues) {
		if err := strvals.ParseInto(k+"="+opts.SetValues[k], vals); err != nil {
			return nil, fmt.Errorf("helmOptions.setValues.%s: %w", k, err)
		}
	}
	for _, k := range sortedKeys(opts.SetFiles) {
		ref := opts.SetFiles[k]
		reader := func(rs []rune) (any, error) {
			b, _, err := a.readFile(a.dir, string(rs))
			return string(b), err
		}
		if err := strvals.ParseIntoFile(k+"="+ref, vals, reader); err != nil {
			return nil, fmt.Errorf("helmOptions.setFiles.%s: %w", k, err)
		}
	}
	return vals, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mergeMaps merges b into a copy of a, recursively for mappings (Helm's
// rule for successive values files).
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if om, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(om, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
