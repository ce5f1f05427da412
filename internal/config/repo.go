package config

// Repo is a repository of configurations, loaded and validated as a whole.
type Repo struct {
	// Root is the absolute path of the repository root.
	Root string
}
