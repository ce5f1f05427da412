package config

// sharedContext builds what application checks need to know from the shared
// files: analysis providers and analysis template names.
func (r *Repo) sharedContext() CheckContext {
	ctx := CheckContext{RepoRoot: r.Root}
	return ctx
}
