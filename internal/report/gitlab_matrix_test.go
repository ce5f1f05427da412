package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type matrixFile map[string]struct {
	Parallel struct {
		Matrix []map[string]string `yaml:"matrix"`
	} `yaml:"parallel"`
	Rules []map[string]string `yaml:"rules"`
}

func TestWriteGitLabMatrix(t *testing.T) {
	apps := []GitLabMatrixApp{
		{Name: "web", Environment: "prod"},
		{Name: "api"},
		{Name: `odd: "name" # not a comment`, Environment: "stag'ing"},
		{Name: "ünï", Environment: "$NOT_A_VAR"},
	}
	var b bytes.Buffer
	if err := WriteGitLabMatrix(&b, apps); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), GitLabMatrixHeader+"\n.pipe-apps:\n  parallel:\n    matrix:\n      - PIPE_APP: \"web\"\n        PIPE_ENVIRONMENT: \"prod\"\n") {
		t.Errorf("output:\n%s", b.String())
	}
	var f matrixFile
	if err := yaml.Unmarshal(b.Bytes(), &f); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, b.String())
	}
	m := f[".pipe-apps"].Parallel.Matrix
	want := []map[string]string{
		{"PIPE_APP": "web", "PIPE_ENVIRONMENT": "prod"},
		{"PIPE_APP": "api", "PIPE_ENVIRONMENT": "api"},
		{"PIPE_APP": `odd: "name" # not a comment`, "PIPE_ENVIRONMENT": "stag'ing"},
		{"PIPE_APP": "ünï", "PIPE_ENVIRONMENT": "$NOT_A_VAR"},
	}
	if fmt.Sprint(m) != fmt.Sprint(want) {
		t.Errorf("matrix %v, want %v", m, want)
	}

	// No application: a rule that never runs (GitLab rejects an empty matrix).
	b.Reset()
	if err := WriteGitLabMatrix(&b, nil); err != nil {
		t.Fatal(err)
	}
	f = nil
	if err := yaml.Unmarshal(b.Bytes(), &f); err != nil || len(f[".pipe-apps"].Parallel.Matrix) != 0 ||
		fmt.Sprint(f[".pipe-apps"].Rules) != "[map[when:never]]" {
		t.Errorf("no apps: %v\n%s", err, b.String())
	}

	// Past GitLab's limit of one matrix: a clear error, nothing written.
	b.Reset()
	many := make([]GitLabMatrixApp, GitLabMatrixLimit+1)
	for i := range many {
		many[i].Name = fmt.Sprint("app", i)
	}
	if err := WriteGitLabMatrix(&b, many); err == nil || !strings.Contains(err.Error(), "201 applications to sync, and GitLab creates at most 200 jobs") || b.Len() != 0 {
		t.Errorf("over the limit: %v (%d bytes written)", err, b.Len())
	}
	if err := WriteGitLabMatrix(&b, many[:GitLabMatrixLimit]); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}
