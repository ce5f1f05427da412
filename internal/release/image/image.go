// Package image builds pipe's container image, ghcr.io/gitops-pipe/pipe,
// without a Docker daemon: a multi-arch OCI image index assembled with
// go-containerregistry from prebuilt, statically linked pipe binaries on
// top of a base image pinned by digest (DefaultBaseRef).
//
// Each platform's image is the base's layers plus two of its own: a small
// system layer (the non-root account when the base lacks one, /tmp when
// missing, the working directory /work owned by that account) and the
// binary at /usr/local/bin/pipe. The image runs as uid/gid 65532
// ("nonroot", as distroless names it) with HOME set, has pipe as its
// entrypoint and carries the OCI labels and annotations
// org.opencontainers.image.{source,version,revision,created,licenses,
// title,description}.
//
// Builds are reproducible: layer entries are sorted, every file time is
// the given creation time (the commit's time), and the configs hold no
// clock time, so the same binaries, base and options give the same index
// digest.
package image

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gitops-pipe/pipe/internal/release"
)

// Where things are in the image.
const (
	// Repository is where releases push the image (release.Image).
	Repository = release.Image
	// SourceURL is the org.opencontainers.image.source of the image.
	SourceURL = "https://github.com/gitops-pipe/pipe"
	// BinaryPath is the image's entrypoint.
	BinaryPath = "/usr/local/bin/pipe"
	// WorkingDir is the image's working directory, owned by UID; mount the
	// repository there (docker run -v "$PWD:/work").
	WorkingDir = "/work"
	// UID is the user and group ID the image runs as (distroless' nonroot).
	UID = 65532
	// userName names UID in /etc/passwd and /etc/group when the base has
	// no account with that ID.
	userName = "nonroot"

	title       = "pipe"
	description = "GitOps continuous delivery without a server, run from CI jobs: PipeCD-style plan, sync and drift for Kubernetes, Terraform/OpenTofu, ECS, Lambda and Cloud Run"
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// Binary is a pipe executable built for one platform.
type Binary struct {
	// Platform is linux/ARCH (e.g. linux/amd64).
	Platform v1.Platform
	// Path is the executable's file, built with CGO_ENABLED=0.
	Path string
}

// ParseBinary parses the form PLATFORM=PATH, e.g. "linux/arm64=dist/pipe".
func ParseBinary(s string) (Binary, error) {
	plat, file, ok := strings.Cut(s, "=")
	if !ok || plat == "" || file == "" {
		return Binary{}, fmt.Errorf("%q is not PLATFORM=PATH (e.g. linux/amd64=dist/linux_amd64/pipe)", s)
	}
	p, err := v1.ParsePlatform(plat)
	if err != nil {
		return Binary{}, fmt.Errorf("%q: %v", s, err)
	}
	if p.OS != "linux" || p.Architecture == "" || p.OSVersion != "" || len(p.OSFeatures) > 0 || len(p.Features) > 0 {
		return Binary{}, fmt.Errorf("%q: the platform must be linux/ARCH (e.g. linux/amd64, linux/arm64), not %q", s, plat)
	}
	return Binary{Platform: *p, Path: file}, nil
}

// Options say what Build assembles.
type Options struct {
	// Binaries are the pipe executables, one per platform.
	Binaries []Binary
	// Base provides each platform's base image: RemoteBase(DefaultBaseRef)
	// for releases, ScratchBase for offline builds and tests.
	Base Base
	// Version is the release version without the tag's leading "v"
	// (goreleaser's {{.Version}}), as stamped into the binaries.
	Version string
	// Revision is the commit the binaries were built from (optional).
	Revision string
	// Created is the image's creation time: use the commit's time, not the
	// clock, so that rebuilding gives the same digest.
	Created time.Time
	// Licenses is the SPDX license expression of pipe (optional; the label
	// is left out when empty).
	Licenses string
}

var (
	versionRE  = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._+-]{0,127}$`)
	revisionRE = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
)

func (o *Options) validate() error {
	if len(o.Binaries) == 0 {
		return fmt.Errorf("no pipe binary given: give one per platform (linux/amd64, linux/arm64)")
	}
	seen := map[string]bool{}
	for _, b := range o.Binaries {
		if b.Platform.OS != "linux" || b.Platform.Architecture == "" {
			return fmt.Errorf("binary %s: platform %s is not linux/ARCH", b.Path, platformString(b.Platform))
		}
		k := b.Platform.Architecture
		if seen[k] {
			return fmt.Errorf("two binaries for linux/%s; give one per platform", k)
		}
		seen[k] = true
	}
	if o.Base == nil {
		return fmt.Errorf("no base image: use RemoteBase(DefaultBaseRef) or ScratchBase")
	}
	switch {
	case o.Version == "":
		return fmt.Errorf("no version: give the release version the binaries were stamped with (e.g. 1.4.0)")
	case len(o.Version) > 1 && o.Version[0] == 'v' && o.Version[1] >= '0' && o.Version[1] <= '9':
		return fmt.Errorf("version %q starts with \"v\": give it without, as goreleaser's {{.Version}} and the archive names do (%s)", o.Version, o.Version[1:])
	case !versionRE.MatchString(o.Version):
		return fmt.Errorf("version %q is not a version (letters, digits, '.', '-', '+', '_'; at most 128)", o.Version)
	}
	if o.Revision != "" && !revisionRE.MatchString(o.Revision) {
		return fmt.Errorf("revision %q is not a git commit (7 to 64 lowercase hex digits)", o.Revision)
	}
	if o.Created.IsZero() {
		return fmt.Errorf("no creation time: give the commit's time (git log -1 --format=%%cI), so that the build is reproducible")
	}
	if strings.ContainsAny(o.Licenses, "\n\r") {
		return fmt.Errorf("licenses %q spans lines; give one SPDX expression", o.Licenses)
	}
	return nil
}

// annotations are the org.opencontainers.image.* keys of the index and of
// each image (as labels and as manifest annotations).
func (o *Options) annotations() map[string]string {
	a := map[string]string{
		"org.opencontainers.image.source":      SourceURL,
		"org.opencontainers.image.url":         SourceURL,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.created":     o.created().Format(time.RFC3339),
		"org.opencontainers.image.title":       title,
		"org.opencontainers.image.description": description,
	}
	if o.Revision != "" {
		a["org.opencontainers.image.revision"] = o.Revision
	}
	if o.Licenses != "" {
		a["org.opencontainers.image.licenses"] = o.Licenses
	}
	return a
}

func (o *Options) created() time.Time { return o.Created.UTC().Truncate(time.Second) }

// Build assembles the multi-arch image index: one image per binary, in
// the order amd64, arm64, then others by name. Nothing is written: pass
// the index to WriteLayout or Push. Registry errors of a remote base are
// returned (redacted); an unusable base, binary or option is an error
// saying what to change.
func Build(ctx context.Context, opts Options) (v1.ImageIndex, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	bins := append([]Binary(nil), opts.Binaries...)
	sort.Slice(bins, func(i, j int) bool {
		return archOrder(bins[i].Platform.Architecture) < archOrder(bins[j].Platform.Architecture)
	})

	// The platforms' images are independent; compressing each binary is
	// most of the work, so they are built at the same time.
	imgs := make([]v1.Image, len(bins))
	errs := make([]error, len(bins))
	var wg sync.WaitGroup
	for i, b := range bins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = ctx.Err(); errs[i] == nil {
				imgs[i], errs[i] = buildImage(ctx, opts, b)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			MediaType: types.OCIManifestSchema1,
			Platform:  &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant},
		}})
	}
	idx = mutate.AppendManifests(idx, adds...)
	return mutate.Annotations(idx, opts.annotations()).(v1.ImageIndex), nil
}

func archOrder(arch string) string {
	switch arch {
	case "amd64":
		return "0"
	case "arm64":
		return "1"
	}
	return "2" + arch
}
