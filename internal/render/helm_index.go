package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"sigs.k8s.io/yaml"
)

// chartIndex is a chart repository's index.yaml, in Helm's format (Helm's
// own pkg/repo brings its getters, plugins and OCI client along).
type chartIndex struct {
	APIVersion string                     `json:"apiVersion"`
	Entries    map[string][]*chartVersion `json:"entries"`
}

// chartVersion is an entry of an index: a chart's metadata and where its
// archive is.
type chartVersion struct {
	*chart.Metadata
	URLs []string `json:"urls"`
	// Digest is the archive's SHA-256, in hex (Helm writes no prefix).
	Digest string `json:"digest,omitempty"`
}

var errNoChartName = errors.New("no chart of that name in the index")

// parseIndex reads a repository index (YAML or JSON) like Helm, dropping
// entries without metadata or version, each chart's versions newest first.
func parseIndex(data []byte) (*chartIndex, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}
	idx := &chartIndex{}
	var err error
	if json.Valid(data) {
		err = json.Unmarshal(data, idx)
	} else {
		err = yaml.Unmarshal(data, idx)
	}
	if err != nil {
		return nil, err
	}
	if idx.APIVersion == "" {
		return nil, errors.New("no apiVersion: not a chart repository index")
	}
	for name, cvs := range idx.Entries {
		idx.Entries[name] = slices.DeleteFunc(cvs, func(cv *chartVersion) bool {
			return cv == nil || cv.Metadata == nil || cv.Version == ""
		})
	}
	idx.sortEntries()
	return idx, nil
}

// sortEntries sorts each chart's versions newest first (unparsable last),
// like Helm.
func (i *chartIndex) sortEntries() {
	for _, vs := range i.Entries {
		slices.SortStableFunc(vs, func(a, b *chartVersion) int {
			va, erra := semver.NewVersion(a.Version)
			vb, errb := semver.NewVersion(b.Version)
			switch {
			case erra != nil && errb != nil:
				return 0
			case erra != nil:
				return 1
			case errb != nil:
				return -1
			}
			return vb.Compare(va)
		})
	}
}

// get finds a version like Helm's IndexFile.Get: an exact match first,
// else the newest matching the constraint ("" is the newest stable).
func (i *chartIndex) get(name, version string) (*chartVersion, error) {
	vs, ok := i.Entries[name]
	if !ok {
		return nil, errNoChartName
	}
	constraint := "*"
	if version != "" {
		constraint = version
		for _, v := range vs {
			if v.Version == version {
				return v, nil
			}
		}
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return nil, badConstraint(version, err)
	}
	for _, v := range vs {
		if sv, err := semver.NewVersion(v.Version); err == nil && c.Check(sv) {
			return v, nil
		}
	}
	return nil, nil
}

// versions lists a chart's versions for messages (see versionList).
func (i *chartIndex) versions(name string) string {
	cvs := i.Entries[name]
	vs := make([]string, 0, min(len(cvs), 11))
	for _, cv := range cvs[:min(len(cvs), 11)] {
		vs = append(vs, cv.Version)
	}
	return versionList(vs, "it lists no version")
}

// versionList lists versions (newest first) for messages: "it has " the
// newest ten, then "..." if there are more; none when there are none.
func versionList(vs []string, none string) string {
	if len(vs) == 0 {
		return none
	}
	if len(vs) > 10 {
		vs = append(vs[:10:10], "...")
	}
	return "it has " + strings.Join(vs, ", ")
}

// badConstraint is the error of a helmChart.version that does not parse.
func badConstraint(version string, err error) error {
	return fmt.Errorf("version %q is neither a version nor a semver constraint: %w", version, err)
}

// exactVersion reports whether a helmChart.version names one version
// (1.2.3, v1.2.3-rc.1+build) rather than a range: such a chart, once
// cached, is rendered with no network at all.
func exactVersion(v string) bool {
	_, err := semver.StrictNewVersion(strings.TrimPrefix(v, "v"))
	return err == nil
}

// resolveReferenceURL resolves an index's archive URL against the
// repository URL like Helm (the repository URL as a directory, its query
// kept).
func resolveReferenceURL(baseURL, refURL string) (string, error) {
	ref, err := url.Parse(refURL)
	if err != nil {
		return "", fmt.Errorf("the index's URL %q does not parse: %w", redactURL(refURL), err)
	}
	if ref.IsAbs() {
		return refURL, nil
	}
	base, err := url.Parse(baseURL)
	if err != nil {
		return "", fmt.Errorf("the repository URL does not parse: %w", err)
	}
	base.RawPath = strings.TrimSuffix(base.RawPath, "/") + "/"
	base.Path = strings.TrimSuffix(base.Path, "/") + "/"
	u := base.ResolveReference(ref)
	u.RawQuery = base.RawQuery
	return u.String(), nil
}

// cacheKindIndex is the download cache's kind of repository indexes, by
// repository URL.
const cacheKindIndex = "helm-index"

// index returns a repository's index.yaml, parsed: downloaded once per
// Renderer (and stored in the cache), or the cached copy offline.
func (r *Renderer) index(ctx context.Context, cr *ChartRepo) (*chartIndex, error) {
	return memoized(r, &r.fetch.indexes, cr.URL, func() (*chartIndex, error) { return r.loadIndex(ctx, cr) })
}

// loadIndex downloads a repository's index (or reads the cached copy
// offline), parsed.
func (r *Renderer) loadIndex(ctx context.Context, cr *ChartRepo) (*chartIndex, error) {
	var idx *chartIndex
	_, err := r.fetchKept(cacheKindIndex, cr.URL, fmt.Sprintf("the index of chart repository %s", cr.describe()), maxDownload,
		func() ([]byte, error) {
			user, pass, err := cr.credentials()
			if err != nil {
				return nil, err
			}
			u := strings.TrimSuffix(cr.URL, "/") + "/index.yaml"
			data, err := r.getWith(ctx, r.client(cr), u, user, pass)
			if err != nil {
				return nil, fmt.Errorf("chart repository %s: %w", cr.describe(), err)
			}
			return data, nil
		},
		func(data []byte) (err error) {
			if idx, err = parseIndex(data); err != nil {
				return fmt.Errorf("chart repository %s: index.yaml: %w", cr.describe(), err)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return idx, nil
}
