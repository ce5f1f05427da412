package state

import "testing"

func TestForgeCredentialsFromEnvSendsTokensOnlyToTheirForge(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	all := map[string]string{"GITHUB_TOKEN": "gh", "PIPE_GIT_TOKEN": "generic", "GITHUB_SERVER_URL": "https://ghe.example.com"}
	for _, tc := range []struct {
		env    map[string]string
		remote string
		source string
	}{
		{all, "https://github.com/org/charts.git", "GITHUB_TOKEN"},
		{all, "https://ghe.example.com/org/charts.git", "GITHUB_TOKEN"},
		// A host a pull request chose gets nothing, PIPE_GIT_TOKEN included.
		{all, "https://attacker.example/charts.git", ""},
		{map[string]string{"GITHUB_TOKEN": "gh"}, "https://attacker.example/charts.git", ""},
		{map[string]string{"PIPE_GIT_TOKEN": "generic"}, "https://git.example.com/charts.git", ""},
		{map[string]string{"CI_JOB_TOKEN": "job", "CI_SERVER_HOST": "gitlab.example.com"}, "https://gitlab.example.com/g/charts.git", "CI_JOB_TOKEN"},
		{map[string]string{"CI_JOB_TOKEN": "job", "CI_SERVER_HOST": "gitlab.example.com"}, "https://github.com/g/charts.git", ""},
		{map[string]string{"GITLAB_TOKEN": "gl"}, "https://gitlab.com/g/charts.git", "GITLAB_TOKEN"},
	} {
		c := ForgeCredentialsFromEnv(env(tc.env), tc.remote)
		if c.TokenSource != tc.source || (tc.source == "") != (c.Token == "") {
			t.Errorf("%s with %v: token from %q, want %q", tc.remote, tc.env, c.TokenSource, tc.source)
		}
	}
	c := ForgeCredentialsFromEnv(env(map[string]string{"PIPE_SSH_KEY_FILE": "/k", "HOME": "/h"}), "git@github.com:org/charts.git")
	if c.SSHKeyFile != "/k" || len(c.KnownHostsFiles) == 0 {
		t.Errorf("ssh: %+v", c)
	}
}
