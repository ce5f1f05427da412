package render

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Bounds of a repository's tag list: a registry is named by the
// application, which a pull request controls, and could page forever.
const (
	maxTagPages = 1000
	maxTags     = 100000
)

// maxTagList bounds a repository's tag list in the download cache (JSON),
// as any download: maxTags tags of the 128 characters a tag may have are
// about 13 MB, more than a manifest's maxManifest. A longer list than
// maxTagList is not kept (fetchKept), so what is kept is read back
// offline.
const maxTagList = maxDownload

// resolveTag picks the highest tag matching a version constraint ("" is
// the newest stable), like Helm: tags are read as strict semver, "_" for
// "+". Online the tags are listed (and cached) once per Renderer; offline
// the cached list of the last run that had network is used.
func (s *ociSession) resolveTag(constraint string) (string, error) {
	what := "oci://" + s.repo.Name()
	tags, err := memoized(s.r, &s.r.fetch.tags, s.repo.Name(), func() ([]string, error) { return s.tags(what, constraint) })
	if err != nil {
		return "", err
	}
	c, err := semver.NewConstraint(cmp.Or(constraint, "*"))
	if err != nil {
		return "", fmt.Errorf("OCI chart %s: %w", what, badConstraint(constraint, err))
	}
	var vs []*semver.Version
	byVersion := map[*semver.Version]string{}
	for _, t := range tags {
		if v, err := semver.StrictNewVersion(strings.ReplaceAll(t, "_", "+")); err == nil {
			vs = append(vs, v)
			byVersion[v] = t
		}
	}
	slices.SortFunc(vs, func(a, b *semver.Version) int { return b.Compare(a) })
	for _, v := range vs {
		if c.Check(v) {
			return byVersion[v], nil
		}
	}
	listed := make([]string, 0, min(len(vs), 11))
	for _, v := range vs[:min(len(vs), 11)] {
		listed = append(listed, byVersion[v])
	}
	has := versionList(listed, "it has no semver tag")
	if constraint == "" {
		return "", fmt.Errorf("OCI chart %s: no stable version among the tags (%s): set helmChart.version", what, has)
	}
	return "", fmt.Errorf("OCI chart %s: no tag matches version %s (%s)", what, constraint, has)
}

// tags returns the repository's tags: listed (and cached), or the cached
// list offline (constraint is the version they are listed for, for the
// message when they are not cached).
func (s *ociSession) tags(what, constraint string) ([]string, error) {
	var tags []string
	_, err := s.r.fetchKept(cacheKindOCITags, s.repo.Name(), fmt.Sprintf("the tags of %s (to resolve version %q; an exact version needs no list)", what, constraint), maxTagList,
		func() ([]byte, error) {
			opts, err := s.options()
			if err != nil {
				return nil, err
			}
			listed, err := listTags(s.ctx, s.repo, opts)
			if err != nil {
				return nil, ociError(what, s.auth, err)
			}
			return json.Marshal(listed)
		},
		func(data []byte) error {
			if err := json.Unmarshal(data, &tags); err != nil {
				return s.cache.Missing("the tags of " + what)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return tags, nil
}

// listTags lists a repository's tags, page after page, within bounds.
func listTags(ctx context.Context, repo name.Repository, opts []remote.Option) ([]string, error) {
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	l, err := p.Lister(ctx, repo)
	if err != nil {
		return nil, err
	}
	var tags []string
	for pages := 0; l.HasNext(); pages++ {
		if pages == maxTagPages || len(tags) > maxTags {
			return nil, fmt.Errorf("the registry lists more than %d tags or %d pages of tags for %s: give helmChart.version an exact version, which needs no list", maxTags, maxTagPages, repo.Name())
		}
		page, err := l.Next(ctx)
		if err != nil {
			return nil, err
		}
		tags = append(tags, page.Tags...)
	}
	return tags, nil
}
