package image

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// DefaultBaseRef is the base image of ghcr.io/gitops-pipe/pipe: Alpine,
// pinned by the digest of its multi-arch index.
//
// Not distroless: pipe itself is a static binary and never runs git (it
// uses go-git in-process), but it does run other programs: SCRIPT_RUN
// stages run `/bin/sh -c`, and GitLab CI runs a job's script with the
// job image's shell, so the image must have /bin/sh (distroless static has
// no shell). Alpine brings busybox's sh and the CA bundle
// (/etc/ssl/certs/ca-certificates.crt, where Go looks first) in about
// 4 MB. Terraform/OpenTofu are not included: pipe never downloads them,
// so an image for Terraform apps adds one (FROM this image).
const DefaultBaseRef = "docker.io/library/alpine:3.23.5@sha256:fd791d74b68913cbb027c6546007b3f0d3bc45125f797758156952bc2d6daf40"

// Base provides the base image of each platform.
type Base interface {
	// Name identifies the base in errors and in the
	// org.opencontainers.image.base.name annotation ("" for none).
	Name() string
	// Image returns the base image for platform (os and architecture).
	Image(ctx context.Context, platform v1.Platform) (v1.Image, error)
}

// RemoteBase is a base image pulled from a registry. ref must be pinned by
// digest ("alpine:3.23@sha256:...") so that the same inputs always build
// the same image; a tag alone is refused. The reference may name a
// multi-arch index (the platform's image is chosen from it) or a single
// image (then only its own platform can be built). opts are passed to
// every registry call (e.g. remote.WithAuthFromKeychain).
func RemoteBase(ref string, opts ...remote.Option) (Base, error) {
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("base image %q is not an image reference: %v", ref, err)
	}
	if _, ok := parsed.(name.Digest); !ok {
		return nil, fmt.Errorf("base image %q is not pinned by digest; write it as NAME:TAG@sha256:DIGEST (e.g. `crane digest %s` prints the digest) so that the same inputs build the same image", ref, ref)
	}
	return &remoteBase{ref: ref, parsed: parsed, opts: opts}, nil
}

type remoteBase struct {
	ref    string
	parsed name.Reference
	opts   []remote.Option

	once sync.Once
	desc *remote.Descriptor
	err  error
}

func (b *remoteBase) Name() string { return b.ref }

func (b *remoteBase) get(ctx context.Context) (*remote.Descriptor, error) {
	b.once.Do(func() {
		opts := append(append([]remote.Option(nil), b.opts...), remote.WithContext(ctx))
		b.desc, b.err = remote.Get(b.parsed, opts...)
		if b.err != nil {
			b.err = fmt.Errorf("fetching base image %s: %w", b.ref, redact.Error(b.err))
		}
	})
	return b.desc, b.err
}

func (b *remoteBase) Image(ctx context.Context, p v1.Platform) (v1.Image, error) {
	desc, err := b.get(ctx)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("reading base image %s: %w", b.ref, redact.Error(err))
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading the config of base image %s: %w", b.ref, redact.Error(err))
		}
		if cf.OS != p.OS || cf.Architecture != p.Architecture {
			return nil, fmt.Errorf("base image %s is a single %s/%s image, not a multi-arch index, so it cannot be the base of %s; use a multi-arch base", b.ref, cf.OS, cf.Architecture, platformString(p))
		}
		return img, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading base image index %s: %w", b.ref, redact.Error(err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading base image index %s: %w", b.ref, redact.Error(err))
	}
	var have []string
	for _, m := range im.Manifests {
		if m.Platform == nil || !m.MediaType.IsImage() {
			continue
		}
		if m.Platform.OS == p.OS && m.Platform.Architecture == p.Architecture && (p.Variant == "" || m.Platform.Variant == p.Variant) {
			img, err := idx.Image(m.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading the %s image of base %s: %w", platformString(p), b.ref, redact.Error(err))
			}
			return img, nil
		}
		have = append(have, platformString(*m.Platform))
	}
	sort.Strings(have)
	return nil, fmt.Errorf("base image %s has no %s image (it has %s); choose a base built for every platform of the image", b.ref, platformString(p), orNone(strings.Join(have, ", ")))
}

// ScratchBase is an empty base plus one layer holding the CA bundle read
// from caBundle at /etc/ssl/certs/ca-certificates.crt (where Go looks
// first). It needs no registry, so tests and offline builds use it; the
// image it gives has no shell, so releases use DefaultBaseRef. The layer's
// file time is fixed, so the base is reproducible.
func ScratchBase(caBundle string) (Base, error) {
	data, err := os.ReadFile(caBundle)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("CA bundle %s does not exist; give the path of a PEM bundle of CA certificates (Debian/Ubuntu: apt-get install ca-certificates)", caBundle)
		}
		return nil, fmt.Errorf("reading CA bundle: %w", err)
	}
	if n := countCerts(data); n == 0 {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate; give a bundle such as /etc/ssl/certs/ca-certificates.crt", caBundle)
	}
	layer, err := newLayer([]entry{
		{name: "/etc", dir: true, mode: 0o755},
		{name: "/etc/ssl", dir: true, mode: 0o755},
		{name: "/etc/ssl/certs", dir: true, mode: 0o755},
		{name: caBundlePath, mode: 0o644, data: data},
	}, time.Unix(0, 0))
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{CreatedBy: "pipe image: CA certificates from " + caBundle, Created: v1.Time{Time: time.Unix(0, 0).UTC()}},
	})
	if err != nil {
		return nil, err
	}
	return scratchBase{img: img}, nil
}

// caBundlePath is where the image's CA bundle lives: the first file Go's
// crypto/x509 reads on Linux, and where Alpine and Debian put theirs.
const caBundlePath = "/etc/ssl/certs/ca-certificates.crt"

type scratchBase struct{ img v1.Image }

func (scratchBase) Name() string { return "" }

func (b scratchBase) Image(_ context.Context, p v1.Platform) (v1.Image, error) {
	cf, err := b.img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	return mutate.ConfigFile(b.img, cf)
}

func countCerts(data []byte) int {
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return n
		}
		if block.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(block.Bytes); err == nil {
				n++
			}
		}
	}
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
