// Package e2etest holds what the end-to-end script tests against the
// local AWS emulator share (internal/e2e/lambda, internal/e2e/ecs): the
// clean environment of a script, the [awscli] condition and the mkzip
// command.
package e2etest

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
)

// CleanEnv is a testscript Setup: no CI detection, no AWS configuration of
// the machine, no colour, a Git identity.
func CleanEnv(e *testscript.Env) error {
	for _, k := range []string{"CI", "GITHUB_ACTIONS", "GITLAB_CI", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		e.Setenv(k, "")
	}
	e.Setenv("NO_COLOR", "1")
	e.Setenv("GIT_AUTHOR_NAME", "t")
	e.Setenv("GIT_AUTHOR_EMAIL", "t@example.com")
	e.Setenv("GIT_COMMITTER_NAME", "t")
	e.Setenv("GIT_COMMITTER_EMAIL", "t@example.com")
	return nil
}

// AWSCLI is Debian's AWS CLI (package awscli), not whatever aws is first
// in PATH.
const AWSCLI = "/usr/bin/aws"

// Condition adds [awscli]: Debian's AWS CLI is installed. When it is not
// and PIPE_REQUIRE_AWSCLI=1 (CI installs it), the condition is an error,
// so that the scripts needing it fail instead of being skipped.
func Condition(cond string) (bool, error) {
	switch cond {
	case "awscli":
		if _, err := os.Stat(AWSCLI); err != nil {
			if os.Getenv("PIPE_REQUIRE_AWSCLI") == "1" {
				return false, fmt.Errorf("PIPE_REQUIRE_AWSCLI=1 but %s is missing (apt-get install awscli)", AWSCLI)
			}
			return false, nil
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// Mkzip is the script command `mkzip OUT FILE...`: it writes a zip
// archive of the script's files (by their base names), e.g. function code
// to put in S3.
func Mkzip(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: mkzip OUT FILE...")
	}
	out, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	zw := zip.NewWriter(out)
	for _, name := range args[1:] {
		data, err := os.ReadFile(ts.MkAbs(name))
		ts.Check(err)
		w, err := zw.Create(filepath.Base(name))
		ts.Check(err)
		_, err = w.Write(data)
		ts.Check(err)
	}
	ts.Check(zw.Close())
	ts.Check(out.Close())
}
