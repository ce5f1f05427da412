package render

import (
	"fmt"
	"sync"

	"github.com/gitops-pipe/pipe/internal/config"
)

// secret is a password that .pipe/config.yaml names (passwordEnv or
// passwordFile), read when a download first needs it: a plan of
// applications that use no chart of a repository never needs its
// password, and must not fail for want of it.
type secret struct {
	// owner names what the password is for ("chart repository example");
	// field is the config entry ("chartRepositories[2]").
	owner, field string
	env          config.EnvVar
	file         config.HostPath
	getenv       func(string) string

	once  sync.Once
	value string
	err   error
}

// newSecret returns the lazy password of a config entry, or nil when it
// names none.
func newSecret(owner, field string, env config.EnvVar, file config.HostPath, getenv func(string) string) *secret {
	if env == "" && file == "" {
		return nil
	}
	return &secret{owner: owner, field: field, env: env, file: file, getenv: getenv}
}

// get reads the password, once. A nil secret is no password.
func (s *secret) get() (string, error) {
	if s == nil {
		return "", nil
	}
	s.once.Do(func() { s.value, s.err = s.read() })
	return s.value, s.err
}

func (s *secret) read() (string, error) {
	field := s.field + ".passwordFile"
	if s.env != "" {
		field = s.field + ".passwordEnv"
	}
	v, err := config.ReadSecret(s.file, s.env, s.getenv)
	if err != nil {
		hint := "set it in the job's environment (a CI secret), or remove passwordEnv if no password is needed"
		if s.file != "" {
			hint = "it must be a regular file holding the password only"
		}
		return "", fmt.Errorf("%s: %s in %s: %w: %s", s.owner, field, config.RepoConfigFile, err, hint)
	}
	return v, nil
}
