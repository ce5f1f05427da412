package lambda

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/lambdazip"
	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/render"
)

// Code sources of a function manifest.
const (
	codeImage = "image"
	codeS3    = "s3"
	codeGit   = "git"
)

// code is where a function's code comes from, as its manifest says.
type code struct {
	Kind                       string
	Image                      string
	S3Bucket, S3Key, S3Version string
	Git, Ref, Path             string
}

func codeOf(s *config.LambdaFunctionSpec) code {
	switch {
	case s.ImageURI != "":
		return code{Kind: codeImage, Image: s.ImageURI}
	case s.S3Bucket != "":
		return code{Kind: codeS3, S3Bucket: s.S3Bucket, S3Key: s.S3Key, S3Version: s.S3ObjectVersion}
	case s.SourceCode.Git != "":
		return code{Kind: codeGit, Git: s.SourceCode.Git, Ref: s.SourceCode.Ref, Path: s.SourceCode.Path}
	}
	return code{}
}

// String says where the code comes from.
func (c code) String() string {
	switch c.Kind {
	case codeImage:
		return c.Image
	case codeS3:
		s := "s3://" + c.S3Bucket + "/" + c.S3Key
		if c.S3Version != "" {
			s += "?versionId=" + c.S3Version
		}
		return s
	case codeGit:
		s := c.Git + "@" + c.Ref
		if c.Path != "" {
			s += ":" + c.Path
		}
		return s
	}
	return "(no code)"
}

// Version names the code's version as PipeCD shows it: the image's tag,
// the S3 object's version (or its key when not pinned), the Git ref.
func (c code) Version() string {
	switch c.Kind {
	case codeImage:
		_, tag := manifest.ParseImage(c.Image)
		return tag
	case codeS3:
		if c.S3Version != "" {
			return c.S3Version
		}
		return path.Base(c.S3Key)
	case codeGit:
		if len(c.Ref) == 40 && strings.Trim(c.Ref, "0123456789abcdef") == "" {
			return c.Ref[:7]
		}
		return c.Ref
	}
	return ""
}

// zipped is a function's code made ready for AWS: a zip archive built
// from Git, an S3 object or an image.
type zipped struct {
	code
	// Zip and SHA256 are the archive of Git source code and its CodeSha256.
	Zip    []byte
	SHA256 string
}

// fetcher gives the files of another Git repository.
type fetcher interface {
	Fetch(ctx context.Context, remote, ref, sub string) (string, func(), error)
}

// resolve makes c ready to upload: Git source code is fetched and zipped
// (the same tree always makes the same archive, so an unchanged source
// is not a code change).
func resolve(ctx context.Context, c code, git fetcher) (*zipped, error) {
	z := &zipped{code: c}
	if c.Kind != codeGit {
		return z, nil
	}
	if git == nil {
		return nil, fmt.Errorf("the function's code is in Git (%s), and this run cannot fetch Git repositories", c)
	}
	dir, cleanup, err := git.Fetch(ctx, c.Git, c.Ref, c.Path)
	if err != nil {
		err = fmt.Errorf("fetch the function's code %s: %w", c, err)
		if strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
			// go-git's words for "no ssh-agent", which says neither
			// what pipe needs nor what to do.
			err = fmt.Errorf("%w (pipe reaches %s over SSH with the keys of an ssh-agent: start one and add a key that can read the repository, so that SSH_AUTH_SOCK is set)", err, c.Git)
		}
		return nil, err
	}
	defer cleanup()
	root := dir
	if c.Path != "" {
		root = filepath.Join(dir, filepath.FromSlash(c.Path))
	}
	a, err := lambdazip.Dir(root, lambdazip.Options{})
	if err != nil {
		return nil, fmt.Errorf("zip the function's code %s: %w", c, err)
	}
	z.Zip, z.SHA256 = a.Data, a.SHA256
	return z, nil
}

var _ fetcher = (*render.GoGitFetcher)(nil)
