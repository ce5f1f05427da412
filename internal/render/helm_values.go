package render

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/redact"
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
			data, err = r.get(ctx, f, "", "")
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

// maxDownload bounds what one download may read (a large repository index
// is tens of MB).
const maxDownload = 256 << 20

// get downloads a URL through the injected client, with basic auth when
// user is set.
func (r *Renderer) get(ctx context.Context, rawURL, user, password string) ([]byte, error) {
	return r.getWith(ctx, r.HTTP, rawURL, user, password)
}

func (r *Renderer) getWith(ctx context.Context, c *http.Client, rawURL, user, password string) ([]byte, error) {
	if c == nil {
		return nil, fmt.Errorf("cannot download %s: no HTTP client was given to rendering", redactURL(rawURL))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("GET %s: %s", redactURL(rawURL), resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redactURL(rawURL), err)
	}
	if len(b) > maxDownload {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", redactURL(rawURL), maxDownload)
	}
	return b, nil
}

// redactURL drops the credentials of a URL for messages (see redact.URL).
func redactURL(s string) string { return redact.URL(s) }
