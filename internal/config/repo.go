package config

// App is one application found in a repository.
type App struct {
	// Name is spec.name, the application's identity in pipe.
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// File is the config file's path relative to the repository root, with
	// forward slashes (e.g. "apps/web/app.pipecd.yaml").
	File string `json:"file"`
	// Dir is the application directory relative to the repository root, with
	// forward slashes; "." for the root.
	Dir    string            `json:"dir"`
	Labels map[string]string `json:"labels,omitempty"`
	// Spec is the decoded spec (e.g. *KubernetesApplicationSpec).
	Spec AppSpec `json:"-"`
}

// Repo is a repository of configurations, loaded and validated as a whole.
type Repo struct {
	// Root is the absolute path of the repository root.
	Root string
}
