package image

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry serves an in-memory registry on the loopback interface and
// returns its host:port.
func testRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// platformBase is a base image with the test CA bundle for platform p,
// with Docker media types (manifest and layer) to be converted to OCI.
func platformBase(t *testing.T, p v1.Platform) v1.Image {
	t.Helper()
	img, err := fileBase(t, map[string]string{"etc/": ""}, false).Image(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pushBaseIndex pushes an index of images for platforms, plus an
// attestation-like manifest of platform unknown/unknown as Docker Hub's
// official images have, and returns its digest reference.
func pushBaseIndex(t *testing.T, host string, platforms ...v1.Platform) (string, map[string]v1.Hash) {
	t.Helper()
	digests := map[string]v1.Hash{}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		img := platformBase(t, p)
		digests[p.Architecture] = digest(t, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	att, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}})
	tag, err := name.NewTag(host + "/library/base:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	return tag.String() + "@" + digest(t, idx).String(), digests
}

func TestRemoteBaseFromAnIndex(t *testing.T) {
	host := testRegistry(t)
	ref, baseDigests := pushBaseIndex(t, host,
		v1.Platform{OS: "linux", Architecture: "amd64"},
		v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	base, err := RemoteBase(ref)
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.Base = base
	idx := build(t, opts)

	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if p := im.Manifests[1].Platform; p.Architecture != "arm64" || p.Variant != "v8" {
		t.Errorf("arm64 descriptor platform = %+v, want the base's linux/arm64/v8", p)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		img, _ := platformImage(t, idx, arch)
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Annotations["org.opencontainers.image.base.name"]; got != ref {
			t.Errorf("%s base.name = %q, want %q", arch, got, ref)
		}
		if got := m.Annotations["org.opencontainers.image.base.digest"]; got != baseDigests[arch].String() {
			t.Errorf("%s base.digest = %q, want the base's %s image %s", arch, got, arch, baseDigests[arch])
		}
		baseManifest, err := platformBase(t, v1.Platform{OS: "linux", Architecture: arch}).Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if bl := baseManifest.Layers[0]; bl.MediaType != types.DockerLayer || m.Layers[0].Digest != bl.Digest || m.Layers[0].MediaType != types.OCILayer {
			t.Errorf("%s: base layer %s (%s) became %s (%s); want the same blob as an OCI layer", arch, bl.Digest, bl.MediaType, m.Layers[0].Digest, m.Layers[0].MediaType)
		}
	}
}

func TestRemoteBaseErrors(t *testing.T) {
	host := testRegistry(t)
	if _, err := RemoteBase(host + "/library/base:1"); err == nil || !strings.Contains(err.Error(), "is not pinned by digest; write it as NAME:TAG@sha256:DIGEST") {
		t.Errorf("tag-only base: %v", err)
	}
	if _, err := RemoteBase("Not A Reference"); err == nil || !strings.Contains(err.Error(), "is not an image reference") {
		t.Errorf("malformed base: %v", err)
	}

	onlyAMD64, _ := pushBaseIndex(t, host, v1.Platform{OS: "linux", Architecture: "amd64"})
	base, err := RemoteBase(onlyAMD64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildOn(t, base); err == nil || !strings.Contains(err.Error(), "has no linux/arm64 image (it has linux/amd64, unknown/unknown); choose a base built for every platform") {
		t.Errorf("base without arm64: %v", err)
	}

	single := platformBase(t, v1.Platform{OS: "linux", Architecture: "amd64"})
	tag, err := name.NewTag(host + "/library/single:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, single); err != nil {
		t.Fatal(err)
	}
	base, err = RemoteBase(tag.String() + "@" + digest(t, single).String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildOn(t, base); err == nil || !strings.Contains(err.Error(), "is a single linux/amd64 image, not a multi-arch index, so it cannot be the base of linux/arm64") {
		t.Errorf("single-image base: %v", err)
	}

	gone := testRegistry(t)
	base, err = RemoteBase(gone + "/library/base:1@" + digest(t, single).String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buildOn(t, base); err == nil || !strings.Contains(err.Error(), "fetching base image "+gone+"/library/base:1@sha256:") {
		t.Errorf("base missing from the registry: %v", err)
	}
}
