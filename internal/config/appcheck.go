package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Checks shared by the Terraform, Lambda, ECS and Cloud Run application specs
// and the .pipe/ files.

// checkAutoRollbackAgreement warns when planner.autoRollback (pipe) and
// input.autoRollback (PipeCD) are both written and disagree: planner wins.
func (c *Checker) checkAutoRollbackAgreement(path string, planner *bool, input bool) {
	if planner == nil || !c.Has(path+".input.autoRollback") || *planner == input {
		return
	}
	c.Warnf(path+".input.autoRollback", fmt.Sprintf("planner.autoRollback (%t) takes precedence; remove one of them", *planner),
		"input.autoRollback (%t) disagrees with planner.autoRollback", input)
}

// checkOptionalFileRef is CheckFileRef for a reference whose absence is only
// worth a warning: a default file name the user did not write (function.yaml,
// service.yaml, taskdef.json) or an EventWatcher target. Anything else wrong
// with the reference (absolute, outside the repository, a directory, a
// symlink leading out) is still an error. why explains the warning.
func (c *Checker) checkOptionalFileRef(path, ref, base string, kind FileRefKind, why string) string {
	if ref == "" || filepath.IsAbs(ref) || strings.HasPrefix(ref, "/") || c.Ctx.RepoRoot == "" || c.Ctx.FileDir == "" {
		return c.CheckFileRef(path, ref, base, kind)
	}
	if base == "" {
		base = c.Ctx.FileDir
	}
	abs := filepath.Join(base, filepath.FromSlash(ref))
	if within(c.Ctx.RepoRoot, abs) {
		if _, err := os.Lstat(abs); errors.Is(err, fs.ErrNotExist) {
			c.Warnf(path, why, "%q does not exist", ref)
			return ""
		}
	}
	return c.CheckFileRef(path, ref, base, kind)
}

// checkManifestFile checks an application's manifest file reference: written
// references must exist; the default name, when not written, may be missing
// (the pipeline may not need it) and is then a warning.
func (c *Checker) checkManifestFile(path, ref, def string) {
	if c.Has(path) {
		c.CheckFileRef(path, ref, "", RefFile)
		return
	}
	c.checkOptionalFileRef(path, def, "", RefFile,
		fmt.Sprintf("`%s` defaults to %s; write it when the file has another name", lastField(path), def))
}

func lastField(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// checkEnum reports a value that is not one of allowed; it returns whether the value is allowed.
func (c *Checker) checkEnum(path, got string, allowed ...string) bool {
	if slices.Contains(allowed, got) {
		return true
	}
	c.Errorf(path, enumHint(got, allowed), "invalid value %q", truncate(got, 60))
	return false
}

// stageRef is a stage of the pipeline with its field path.
type stageRef struct {
	Path  string
	Stage *PipelineStage
}

// stagesOf lists the stages of a pipeline with their paths.
func stagesOf(g *GenericApplicationSpec, path string) []stageRef {
	if g.Pipeline == nil {
		return nil
	}
	out := make([]stageRef, 0, len(g.Pipeline.Stages))
	for i := range g.Pipeline.Stages {
		out = append(out, stageRef{Path: fmt.Sprintf("%s.pipeline.stages[%d]", path, i), Stage: &g.Pipeline.Stages[i]})
	}
	return out
}

// checkNoNegative reports a negative count (retries...).
func (c *Checker) checkNoNegative(path string, n int) {
	if n < 0 {
		c.Errorf(path, "", "must not be negative, got %d", n)
	}
}

// isEnvName reports whether s is a portable environment variable name.
func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func indexPath(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
