package image

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// buildImage assembles the image of one platform: the base's layers (as
// OCI media types), the system layer and the binary layer, with pipe's
// config, labels and annotations.
func buildImage(ctx context.Context, opts Options, b Binary) (v1.Image, error) {
	plat := platformString(b.Platform)
	binary, err := readBinary(b.Path, b.Platform.Architecture)
	if err != nil {
		return nil, err
	}
	base, err := opts.Base.Image(ctx, b.Platform)
	if err != nil {
		return nil, err
	}
	baseDesc := describeBase(opts.Base)
	baseCF, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config of base image %s (%s): %w", baseDesc, plat, err)
	}
	baseCF = baseCF.DeepCopy()
	if baseCF.OS != b.Platform.OS || baseCF.Architecture != b.Platform.Architecture {
		return nil, fmt.Errorf("base image %s: its %s image says it is %s/%s", baseDesc, plat, baseCF.OS, baseCF.Architecture)
	}
	fs, err := inspectBase(base)
	if err != nil {
		return nil, fmt.Errorf("base image %s (%s): %w", baseDesc, plat, err)
	}
	if fs.caBundle() == "" {
		return nil, fmt.Errorf("base image %s (%s) has no CA certificate bundle (none of %s), and pipe needs one for HTTPS; choose a base with CA certificates (Alpine and distroless have them)", baseDesc, plat, strings.Join(goCAFiles, ", "))
	}
	acct, err := fs.nonrootAccount(UID)
	if err != nil {
		return nil, fmt.Errorf("base image %s (%s): %w", baseDesc, plat, err)
	}
	sysEntries, binEntries, err := fs.layerEntries(acct, binary)
	if err != nil {
		return nil, fmt.Errorf("base image %s (%s): %w", baseDesc, plat, err)
	}
	created := opts.created()
	sysLayer, err := newLayer(sysEntries, created)
	if err != nil {
		return nil, err
	}
	binLayer, err := newLayer(binEntries, created)
	if err != nil {
		return nil, err
	}

	adds, err := baseAddenda(base, baseCF, baseDesc)
	if err != nil {
		return nil, err
	}
	hist := func(what string) v1.History {
		return v1.History{Created: v1.Time{Time: created}, CreatedBy: "pipe image builder (internal/release/image): " + what}
	}
	adds = append(adds,
		mutate.Addendum{Layer: sysLayer, MediaType: types.OCILayer, History: hist("account, /tmp and " + WorkingDir)},
		mutate.Addendum{Layer: binLayer, MediaType: types.OCILayer, History: hist("pipe " + opts.Version + " at " + BinaryPath)},
	)
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("assembling the %s image: %w", plat, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("assembling the %s image: %w", plat, err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	cf.Author = ""
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = baseCF.OS, baseCF.Architecture, baseCF.Variant, baseCF.OSVersion
	if cf.Variant == "" {
		cf.Variant = b.Platform.Variant
	}
	cf.Container, cf.DockerVersion = "", ""
	cf.Config = v1.Config{
		Entrypoint: []string{BinaryPath},
		WorkingDir: WorkingDir,
		User:       strconv.Itoa(UID) + ":" + strconv.Itoa(UID),
		Env:        imageEnv(baseCF.Config.Env, acct.home),
		Labels:     opts.annotations(),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("assembling the %s image: %w", plat, err)
	}

	anns := opts.annotations()
	if name := opts.Base.Name(); name != "" {
		d, err := base.Digest()
		if err != nil {
			return nil, fmt.Errorf("base image %s (%s): %w", baseDesc, plat, err)
		}
		anns["org.opencontainers.image.base.name"] = name
		anns["org.opencontainers.image.base.digest"] = d.String()
	}
	return mutate.Annotations(img, anns).(v1.Image), nil
}

// baseAddenda re-describes the base's layers with OCI media types (the
// bytes are the same) and keeps its history, so that the image is OCI
// throughout whatever the base's manifest format.
func baseAddenda(base v1.Image, cf *v1.ConfigFile, baseDesc string) ([]mutate.Addendum, error) {
	m, err := base.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of base image %s: %w", baseDesc, err)
	}
	layers, err := base.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the layers of base image %s: %w", baseDesc, err)
	}
	if len(layers) != len(m.Layers) {
		return nil, fmt.Errorf("base image %s: its manifest lists %d layers, but %d were read", baseDesc, len(m.Layers), len(layers))
	}
	var adds []mutate.Addendum
	li := 0
	for _, h := range cf.History {
		if h.EmptyLayer {
			adds = append(adds, mutate.Addendum{History: h})
			continue
		}
		if li == len(layers) {
			return nil, fmt.Errorf("base image %s: its history describes more layers than the %d it has", baseDesc, len(layers))
		}
		mt, err := ociLayerType(m.Layers[li].MediaType)
		if err != nil {
			return nil, fmt.Errorf("base image %s: layer %d: %w", baseDesc, li+1, err)
		}
		adds = append(adds, mutate.Addendum{Layer: layers[li], History: h, MediaType: mt, Annotations: m.Layers[li].Annotations})
		li++
	}
	for ; li < len(layers); li++ {
		mt, err := ociLayerType(m.Layers[li].MediaType)
		if err != nil {
			return nil, fmt.Errorf("base image %s: layer %d: %w", baseDesc, li+1, err)
		}
		adds = append(adds, mutate.Addendum{Layer: layers[li], MediaType: mt, Annotations: m.Layers[li].Annotations})
	}
	return adds, nil
}

func ociLayerType(mt types.MediaType) (types.MediaType, error) {
	switch mt {
	case types.DockerLayer, types.OCILayer:
		return types.OCILayer, nil
	case types.DockerUncompressedLayer, types.OCIUncompressedLayer:
		return types.OCIUncompressedLayer, nil
	case types.OCILayerZStd:
		return mt, nil
	}
	return "", fmt.Errorf("media type %s is not a distributable tar layer; choose a base without foreign or non-distributable layers", mt)
}

// imageEnv is the base's environment with HOME set to home and a PATH
// (the usual one when the base has none).
func imageEnv(base []string, home string) []string {
	var env []string
	hasPath := false
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME":
			continue
		case "PATH":
			hasPath = true
		}
		env = append(env, kv)
	}
	if !hasPath {
		env = append(env, "PATH="+defaultPath)
	}
	return append(env, "HOME="+home)
}

func describeBase(b Base) string {
	if n := b.Name(); n != "" {
		return n
	}
	return "(scratch with a CA bundle)"
}
