package render

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/gitops-pipe/pipe/internal/fetchcache"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Helm's media types of a chart in an OCI registry.
const (
	helmConfigMediaType      = "application/vnd.cncf.helm.config.v1+json"
	helmChartLayerMediaType  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	helmLegacyLayerMediaType = "application/tar+gzip"
)

// maxManifest bounds an OCI manifest (a chart's is under 1 KiB).
const maxManifest = 4 << 20

// The download cache's kinds for OCI charts: a tag's manifest, by
// reference, and a repository's tags, by repository (for ranges offline).
const (
	cacheKindOCIManifest = "helm-oci-manifest"
	cacheKindOCITags     = "helm-oci-tags"
)

// ociRef is a chart in an OCI registry: helmChart.repository
// oci://host/path with name chart/name is host/path/chart/name.
type ociRef struct {
	repo name.Repository
	// tag or digest, when the reference or an exact version names one;
	// else the version is a constraint ("" for the newest stable) to
	// resolve against the tags.
	tag, digest string
	version     string
}

// parseOCIRef reads repository+name (and an exact version) like Helm:
// the first path element is the registry host, a version's "+" is a
// tag's "_", and a tag or digest in the reference must agree with the
// version.
func parseOCIRef(repository, chartName, version string) (ociRef, error) {
	raw := strings.Trim(strings.TrimPrefix(repository, "oci://"), "/")
	if n := strings.Trim(chartName, "/"); n != "" {
		raw += "/" + n
	}
	bad := func(why string) error {
		return fmt.Errorf("helmChart.repository oci://%s: %s (e.g. repository: oci://ghcr.io/org, name: charts/app, version: 1.2.3)", raw, why)
	}
	var ref ociRef
	if at := strings.LastIndexByte(raw, '@'); at >= 0 {
		raw, ref.digest = raw[:at], raw[at+1:]
		if _, ok := fetchcache.ParseDigest(ref.digest); !ok || !strings.HasPrefix(ref.digest, "sha256:") {
			return ociRef{}, bad("the digest is not sha256:<hex>")
		}
	}
	if c := strings.LastIndexByte(raw, ':'); c > strings.LastIndexByte(raw, '/') && strings.Contains(raw, "/") {
		raw, ref.tag = raw[:c], raw[c+1:]
	}
	host, path, ok := strings.Cut(raw, "/")
	if !ok || path == "" {
		return ociRef{}, bad("a reference is host/path/chart")
	}
	reg, err := name.NewRegistry(host, name.StrictValidation)
	if err != nil {
		return ociRef{}, bad("the registry host is not valid")
	}
	if _, err := name.NewRepository("registry.invalid/"+path, name.StrictValidation); err != nil {
		return ociRef{}, bad("the repository path is not valid (lower-case letters, digits, separators)")
	}
	ref.repo = reg.Repo(path)
	switch {
	case ref.tag != "" && version != "" && version != strings.ReplaceAll(ref.tag, "_", "+") && version != ref.tag:
		return ociRef{}, bad(fmt.Sprintf("the reference's tag %s and helmChart.version %s differ", ref.tag, version))
	case ref.tag != "" || ref.digest != "":
		ref.version = version
		return ref, nil
	}
	ref.version = version
	if _, err := semver.NewVersion(version); err == nil {
		// An exact version is its tag, like Helm.
		ref.tag = strings.ReplaceAll(version, "+", "_")
	}
	if ref.tag != "" {
		if _, err := name.NewTag(ref.repo.Name()+":"+ref.tag, name.StrictValidation); err != nil {
			return ociRef{}, bad(fmt.Sprintf("version %s is not a valid tag", version))
		}
	}
	return ref, nil
}

// ociChart loads a chart from an OCI registry: the manifest of its tag
// (an exact version), digest, or highest tag matching the version
// constraint, then the chart layer, each verified. A tag or digest whose
// manifest and layer are in the download cache is loaded with no network.
func (r *Renderer) ociChart(ctx context.Context, repository, chartName, version string) (*helmChart, error) {
	ref, err := parseOCIRef(repository, chartName, version)
	if err != nil {
		return nil, err
	}
	s := &ociSession{r: r, ctx: ctx, cache: r.cache(), repo: ref.repo}
	if ref.tag == "" && ref.digest == "" {
		if ref.tag, err = s.resolveTag(ref.version); err != nil {
			return nil, err
		}
	}
	var target name.Reference = ref.repo.Tag(ref.tag)
	if ref.digest != "" {
		target = ref.repo.Digest(ref.digest)
	}
	what := "oci://" + target.Name()
	manifest, err := s.manifest(target, what)
	if err != nil {
		return nil, err
	}
	layer, err := chartLayer(manifest, what)
	if err != nil {
		return nil, err
	}
	data, err := s.blob(layer, what)
	if err != nil {
		return nil, err
	}
	ch, err := loadArchive(data, "oci://"+ref.repo.Name())
	if err != nil {
		return nil, err
	}
	if ref.digest != "" && ref.version != "" && exactVersion(ref.version) {
		want, _ := semver.NewVersion(ref.version)
		if got, err := semver.NewVersion(ch.chart.Metadata.Version); err != nil || !got.Equal(want) {
			return nil, fmt.Errorf("OCI chart %s is version %s, not helmChart.version %s", what, ch.chart.Metadata.Version, ref.version)
		}
	}
	return ch, nil
}

// ociSession is the downloads of one chart from a registry: credentials
// are looked up at the first request.
type ociSession struct {
	r     *Renderer
	ctx   context.Context
	cache *fetchcache.Cache
	repo  name.Repository

	opts []remote.Option
	auth registryAuth
}

// options returns the registry client's options, finding credentials.
func (s *ociSession) options() ([]remote.Option, error) {
	if s.opts != nil {
		return s.opts, nil
	}
	if s.cache.Offline() {
		// Callers check the cache first; this is the last line.
		return nil, s.cache.Missing("oci://" + s.repo.Name())
	}
	t, err := s.r.registryTransport()
	if err != nil {
		return nil, fmt.Errorf("cannot download from oci://%s: %w", s.repo.Name(), err)
	}
	if s.auth, err = s.r.registryAuth(s.repo.Registry); err != nil {
		return nil, err
	}
	s.opts = []remote.Option{remote.WithContext(s.ctx), remote.WithTransport(t), remote.WithAuth(s.auth.auth)}
	return s.opts, nil
}

// manifest returns the manifest of a tag or digest: cached, or fetched
// (and cached).
func (s *ociSession) manifest(ref name.Reference, what string) ([]byte, error) {
	if d, ok := ref.(name.Digest); ok {
		if m, ok := s.cache.Blob(d.DigestStr(), maxManifest); ok {
			return m, nil
		}
	} else if m, ok := s.cache.Get(cacheKindOCIManifest, ref.Name(), maxManifest); ok {
		return m, nil
	}
	if s.cache.Offline() {
		return nil, s.cache.Missing("the OCI chart " + what)
	}
	opts, err := s.options()
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, ociError(what, s.auth, err)
	}
	switch desc.MediaType {
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
	default:
		return nil, fmt.Errorf("OCI chart %s: the registry serves a %s, not an image manifest: this is not a Helm chart", what, desc.MediaType)
	}
	if len(desc.Manifest) > maxManifest {
		return nil, fmt.Errorf("OCI chart %s: the manifest is %s, more than the %s of a chart's", what, fsafe.Bytes(int64(len(desc.Manifest))), fsafe.Bytes(maxManifest))
	}
	if d, ok := ref.(name.Digest); ok && fetchcache.Digest(desc.Manifest) != d.DigestStr() {
		return nil, fmt.Errorf("OCI chart %s: the manifest served has digest %s", what, fetchcache.Digest(desc.Manifest))
	}
	s.cache.Put(cacheKindOCIManifest, ref.Name(), desc.Manifest)
	return desc.Manifest, nil
}

// chartLayer finds the chart archive's layer in a manifest.
func chartLayer(manifest []byte, what string) (v1.Descriptor, error) {
	m, err := v1.ParseManifest(bytes.NewReader(manifest))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("OCI chart %s: the manifest does not parse: %w", what, err)
	}
	for _, want := range []types.MediaType{helmChartLayerMediaType, helmLegacyLayerMediaType} {
		for _, l := range m.Layers {
			if l.MediaType == want {
				return l, nil
			}
		}
	}
	return v1.Descriptor{}, fmt.Errorf("OCI chart %s is not a Helm chart: no layer of media type %s (config media type %s; Helm's is %s)",
		what, helmChartLayerMediaType, m.Config.MediaType, helmConfigMediaType)
}

// blob returns a layer, cached or downloaded (at most maxDownload bytes),
// verified against its digest and size.
func (s *ociSession) blob(l v1.Descriptor, what string) ([]byte, error) {
	if l.Size < 0 || l.Size > maxDownload {
		return nil, fmt.Errorf("OCI chart %s: the chart layer is %s, more than the %s pipe downloads", what, fsafe.Bytes(l.Size), fsafe.Bytes(maxDownload))
	}
	if l.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("OCI chart %s: the chart layer's digest %s is not a sha256", what, l.Digest)
	}
	if data, ok := s.cache.Blob(l.Digest.String(), l.Size); ok {
		return data, nil
	}
	if s.cache.Offline() {
		return nil, s.cache.Missing(fmt.Sprintf("the chart layer %s of the OCI chart %s", l.Digest, what))
	}
	opts, err := s.options()
	if err != nil {
		return nil, err
	}
	layer, err := remote.Layer(s.repo.Digest(l.Digest.String()), opts...)
	if err != nil {
		return nil, ociError(what, s.auth, err)
	}
	rc, err := layer.Compressed()
	if err != nil {
		return nil, ociError(what, s.auth, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, l.Size+1))
	if err != nil {
		// A digest or size mismatch shows here, as the stream ends.
		return nil, fmt.Errorf("OCI chart %s: downloading the chart layer %s: %w (nothing was rendered from it)", what, l.Digest, redact.Error(err))
	}
	if got := fetchcache.Digest(data); int64(len(data)) != l.Size || got != l.Digest.String() {
		return nil, fmt.Errorf("OCI chart %s: the chart layer downloaded (%d bytes, %s) is not the manifest's (%d bytes, %s): nothing was rendered from it", what, len(data), got, l.Size, l.Digest)
	}
	s.cache.PutBlob(data)
	return data, nil
}
