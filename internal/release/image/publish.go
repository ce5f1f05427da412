package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gitops-pipe/pipe/internal/redact"
)

// RefNameAnnotation names an image in an OCI image layout's index.json
// (skopeo copy oci:DIR:NAME reads it).
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// WriteLayout writes idx as a new OCI image layout in dir: index.json
// lists one entry, the multi-arch index, named refName (e.g. the version)
// with RefNameAnnotation; the blobs hold both platforms' images. dir must
// not exist or be empty, so a stale layout is never mixed in.
func WriteLayout(dir string, idx v1.ImageIndex, refName string) error {
	if err := emptyDir(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{RefNameAnnotation: refName}))
	}
	if err := p.AppendIndex(idx, opts...); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, redact.Error(err))
	}
	return nil
}

func emptyDir(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("OCI layout directory: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("OCI layout directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("OCI layout directory %s is a file; give a directory that does not exist yet or is empty", dir)
	}
	if _, err := f.Readdirnames(1); !errors.Is(err, io.EOF) {
		if err != nil {
			return fmt.Errorf("OCI layout directory: %w", err)
		}
		return fmt.Errorf("OCI layout directory %s is not empty; remove it first or give another directory, so that no stale image is mixed in", dir)
	}
	return nil
}

// Push uploads idx and its images to ref, which must name a tag
// (ghcr.io/gitops-pipe/pipe:1.4.0), and returns the pushed index by digest
// (ghcr.io/gitops-pipe/pipe@sha256:...), the form to sign and to pin.
// opts carry the credentials, e.g.
// remote.WithAuthFromKeychain(authn.DefaultKeychain); errors never carry
// them.
func Push(ctx context.Context, idx v1.ImageIndex, ref string, opts ...remote.Option) (name.Digest, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return name.Digest{}, fmt.Errorf("push destination %q is not REGISTRY/REPOSITORY:TAG (e.g. %s:1.4.0): %v", ref, Repository, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	opts = append(append([]remote.Option(nil), opts...), remote.WithContext(ctx))
	if err := remote.WriteIndex(tag, idx, opts...); err != nil {
		return name.Digest{}, fmt.Errorf("pushing %s: %w", tag, redact.Error(err))
	}
	return tag.Context().Digest(d.String()), nil
}
