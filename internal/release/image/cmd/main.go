// Command cmd builds pipe's container image (internal/release/image) from
// prebuilt binaries, without a Docker daemon, and writes it as an OCI
// image layout and/or pushes it:
//
//	go run ./internal/release/image/cmd \
//	  --binary linux/amd64=dist/pipe_linux_amd64_v1/pipe \
//	  --binary linux/arm64=dist/pipe_linux_arm64_v8.0/pipe \
//	  --version 1.4.0 --revision "$(git rev-parse HEAD)" \
//	  --created "$(git log -1 --format=%cI)" \
//	  --push ghcr.io/gitops-pipe/pipe:1.4.0 --push ghcr.io/gitops-pipe/pipe:latest
//
// Each push prints the pushed index as REPOSITORY@sha256:DIGEST on its own
// line of stdout (the same digest for every tag), for signing and
// attestations; everything else goes to stderr. Credentials come from the
// default keychain (docker login / docker/login-action). Exit status: 0
// done, 1 failed, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gitops-pipe/pipe/internal/release/image"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// scratchBase is the --base value for ScratchBase.
const scratchBase = "scratch"

type config struct {
	opts      image.Options
	base      string
	caBundle  string
	layoutDir string
	push      []string
}

// errUsage marks errors about the command line (exit status 2).
var errUsage = errors.New("usage")

func parse(args []string, stderr io.Writer, getenv func(string) string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	// Parse errors are reported once, by run; the usage only on -h.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.Func("binary", "pipe binary of one platform as `linux/ARCH=PATH`, built with CGO_ENABLED=0 (repeat per platform)", func(s string) error {
		b, err := image.ParseBinary(s)
		if err != nil {
			return err
		}
		c.opts.Binaries = append(c.opts.Binaries, b)
		return nil
	})
	fs.StringVar(&c.base, "base", image.DefaultBaseRef, "base image `REF`, pinned by digest; \"scratch\" is an empty base plus the --ca-bundle file (offline; no shell)")
	fs.StringVar(&c.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA certificates `FILE` (PEM) put in the image with --base scratch")
	fs.StringVar(&c.opts.Version, "version", "", "release `VERSION` the binaries were stamped with, without the leading v (required)")
	fs.StringVar(&c.opts.Revision, "revision", "", "git `COMMIT` the binaries were built from")
	created := fs.String("created", "", "image creation `TIME`, the commit's: RFC 3339 or Unix seconds (default $SOURCE_DATE_EPOCH)")
	fs.StringVar(&c.opts.Licenses, "licenses", "", "SPDX license `EXPRESSION` for the org.opencontainers.image.licenses label")
	fs.StringVar(&c.layoutDir, "oci-layout", "", "write the image as an OCI image layout to `DIR` (must not exist or be empty)")
	fs.Func("push", "push the image to `REGISTRY/REPOSITORY:TAG` and print REPOSITORY@sha256:DIGEST (repeat for more tags)", func(s string) error {
		c.push = append(c.push, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "Usage: go run ./internal/release/image/cmd --binary linux/ARCH=PATH... --version VERSION --created TIME (--oci-layout DIR | --push REF...)\n\nBuilds the multi-arch container image %s from prebuilt pipe binaries.\n\nFlags:\n", image.Repository)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v (see -h)", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q; every input is a flag (see -h)", errUsage, fs.Arg(0))
	}
	if len(c.opts.Binaries) == 0 {
		return nil, fmt.Errorf("%w: no --binary: give one per platform, e.g. --binary linux/amd64=dist/linux_amd64/pipe --binary linux/arm64=dist/linux_arm64/pipe", errUsage)
	}
	if c.opts.Version == "" {
		return nil, fmt.Errorf("%w: no --version: give the version the binaries were stamped with (e.g. --version 1.4.0)", errUsage)
	}
	if c.layoutDir == "" && len(c.push) == 0 {
		return nil, fmt.Errorf("%w: nothing to do: give --oci-layout DIR and/or --push REF", errUsage)
	}
	source := "--created"
	if *created == "" {
		*created, source = getenv("SOURCE_DATE_EPOCH"), "$SOURCE_DATE_EPOCH"
	}
	if *created == "" {
		return nil, fmt.Errorf("%w: no --created and no $SOURCE_DATE_EPOCH: give the commit's time, e.g. --created \"$(git log -1 --format=%%cI)\", so that the image is reproducible", errUsage)
	}
	t, err := parseTime(*created)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %v", errUsage, source, *created, err)
	}
	c.opts.Created = t
	return c, nil
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return time.Time{}, fmt.Errorf("Unix seconds must be positive")
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not RFC 3339 (2025-06-01T12:00:00Z) or Unix seconds")
	}
	return t, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	c, err := parse(args, stderr, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "pipe image: %v\n", strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		return 2
	}
	if err := build(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "pipe image: %v\n", err)
		return 1
	}
	return 0
}

func build(ctx context.Context, c *config, stdout, stderr io.Writer) error {
	keychain := remote.WithAuthFromKeychain(authn.DefaultKeychain)
	var err error
	if c.base == scratchBase {
		c.opts.Base, err = image.ScratchBase(c.caBundle)
	} else {
		c.opts.Base, err = image.RemoteBase(c.base, keychain)
	}
	if err != nil {
		return err
	}
	idx, err := image.Build(ctx, c.opts)
	if err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	if c.layoutDir != "" {
		if err := image.WriteLayout(c.layoutDir, idx, c.opts.Version); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s %s (index %s) to the OCI layout %s\n", image.Repository, c.opts.Version, d, c.layoutDir)
	}
	for _, ref := range c.push {
		pushed, err := image.Push(ctx, idx, ref, keychain)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "pushed %s\n", ref)
		fmt.Fprintln(stdout, pushed.String())
	}
	return nil
}
