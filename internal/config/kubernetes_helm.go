package config

import (
	"path"
	"path/filepath"
	"strings"
)

// InputHelmChart is where a Helm chart comes from: exactly one of a Git
// remote (gitRemote, ref, path), a chart repository (repository, name,
// version) or a local directory (path).
type InputHelmChart struct {
	// Git remote holding the chart; empty means this repository.
	GitRemote string `json:"gitRemote,omitempty"`
	// The commit, branch or tag of the Git remote.
	Ref string `json:"ref,omitempty"`
	// The chart directory: in the Git remote, or relative to the application directory.
	Path string `json:"path,omitempty"`
	// The chart repository (a name from .pipe/config.yaml, or an oci:// or https:// URL).
	Repository string `json:"repository,omitempty"`
	// The chart name in the repository.
	Name string `json:"name,omitempty"`
	// The chart version.
	Version string `json:"version,omitempty"`
}

// unknownFieldHint explains fields set elsewhere.
func (*InputHelmChart) unknownFieldHint(key string) string {
	switch key {
	case "insecure":
		return "TLS verification is a setting of the chart repository (chartRepositories[].insecure in .pipe/config.yaml); PipeCD ignores it here"
	case "chart":
		return "the chart is `name` (with `repository`) or `path` (a local directory)"
	case "url", "repo":
		return "a chart repository is `repository`; a Git repository is `gitRemote`"
	}
	return ""
}

// Source says where the chart comes from: "git", "repository" or "local".
func (h *InputHelmChart) Source() string {
	switch {
	case h.GitRemote != "":
		return "git"
	case h.Repository != "":
		return "repository"
	}
	return "local"
}

// Validate implements validatable.
func (h *InputHelmChart) Validate(c *Checker, path string) {
	bad := func(field, hint, format string, args ...any) { c.Errorf(path+"."+field, hint, format, args...) }
	switch {
	case h.GitRemote != "" && h.Repository != "":
		bad("repository", "a chart comes from one source: gitRemote or repository", "helmChart sets both gitRemote and repository")
	case h.GitRemote != "":
		if h.Path == "" {
			bad("path", "the chart directory inside the Git remote", "a chart from gitRemote needs `path`")
		}
		if h.Ref == "" {
			bad("ref", "a commit, branch or tag of the Git remote", "a chart from gitRemote needs `ref`")
		}
		for _, f := range []struct{ name, v string }{{"name", h.Name}, {"version", h.Version}} {
			if f.v != "" {
				bad(f.name, "name and version belong to a chart repository", "`%s` is not used with gitRemote", f.name)
			}
		}
	case h.Repository != "":
		if h.Name == "" {
			bad("name", "the chart name in the repository", "a chart from a repository needs `name`")
		}
		for _, f := range []struct{ name, v string }{{"path", h.Path}, {"ref", h.Ref}} {
			if f.v != "" {
				bad(f.name, "path and ref belong to a local or Git chart", "`%s` is not used with repository", f.name)
			}
		}
		if h.Version == "" {
			c.Warnf(path+".version", "pin the chart version", "no version: the latest chart is used")
		}
	default:
		if h.Path == "" {
			c.Errorf(path, "set `path` (a local chart), `gitRemote` with ref and path, or `repository` with name and version", "helmChart says nowhere to get the chart from")
			return
		}
		for _, f := range []struct{ name, v string }{{"ref", h.Ref}, {"name", h.Name}, {"version", h.Version}} {
			if f.v != "" {
				bad(f.name, "ref needs gitRemote; name and version need repository", "`%s` is not used with a local chart", f.name)
			}
		}
		c.CheckFileRef(path+".path", h.Path, "", RefDir)
	}
}

// InputHelmOptions are options of `helm template`.
type InputHelmOptions struct {
	// The release name; empty means the application name.
	ReleaseName string `json:"releaseName,omitempty"`
	// Values set with --set, by key.
	SetValues map[string]string `json:"setValues,omitempty"`
	// Values files: in the application directory, or http(s) URLs.
	ValueFiles []string `json:"valueFiles,omitempty"`
	// Files whose content is set as a value (--set-file), by key.
	SetFiles map[string]string `json:"setFiles,omitempty"`
	// API versions for .Capabilities.APIVersions.
	APIVersions []string `json:"apiVersions,omitempty"`
	// Kubernetes version for .Capabilities.KubeVersion.
	KubeVersion string `json:"kubeVersion,omitempty"`
}

// unknownFieldHint explains near misses of the helm options.
func (*InputHelmOptions) unknownFieldHint(key string) string {
	switch key {
	case "values":
		return "values are `valueFiles` (files) or `setValues` (key: value)"
	case "namespace":
		return "the namespace is `input.namespace`"
	}
	return ""
}

// Validate implements validatable.
func (o *InputHelmOptions) Validate(c *Checker, path string) {
	for i, f := range o.ValueFiles {
		checkValuesFile(c, itemPath(path+".valueFiles", i), f)
	}
	for k, f := range o.SetFiles {
		c.CheckFileRef(mapKeyPath(path+".setFiles", k), f, "", RefFile)
	}
	if o.ReleaseName != "" && (len(o.ReleaseName) > 53 || !dnsLabelRe().MatchString(o.ReleaseName)) {
		c.Errorf(path+".releaseName", "a release name is lower-case letters, digits and '-', at most 53 characters", "invalid release name %q", o.ReleaseName)
	}
}

// checkValuesFile checks a Helm values file: an http(s) URL, or a file
// inside the application directory (PipeCD refuses any other path).
func checkValuesFile(c *Checker, path, ref string) {
	if i := strings.Index(ref, "://"); i > 0 {
		if scheme := ref[:i]; scheme != "http" && scheme != "https" {
			c.Errorf(path, "a remote values file is an http:// or https:// URL", "scheme %q is not allowed for a values file", scheme)
		}
		return
	}
	if clean := cleanSlash(ref); clean == ".." || strings.HasPrefix(clean, "../") {
		c.Errorf(path, "values files must be inside the application directory (PipeCD refuses others)", "%q is outside the application directory", ref)
		return
	}
	abs := c.CheckFileRef(path, ref, "", RefFile)
	if abs != "" && !withinDir(c.Ctx.FileDir, abs) {
		c.Errorf(path, "values files must be inside the application directory (PipeCD refuses others)", "%q resolves outside the application directory", ref)
	}
}

// cleanSlash cleans a slash-separated relative path.
func cleanSlash(p string) string { return path.Clean(filepath.ToSlash(p)) }

// withinDir reports whether abs lies in dir, comparing with dir's real path too.
func withinDir(dir, abs string) bool {
	if dir == "" || within(dir, abs) {
		return true
	}
	real, err := filepath.EvalSymlinks(dir)
	return err == nil && within(real, abs)
}
