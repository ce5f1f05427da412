package release

import (
	"bytes"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gitops-pipe/pipe/internal/cli"
	"github.com/gitops-pipe/pipe/internal/report"
)

// These tests interpolate each component with its defaults and with other
// inputs, check the jobs as GitLab would, and run every job's script with
// sh (and shellcheck, when installed) against a stand-in pipe that records
// its arguments; each recorded command line must be one the real pipe
// accepts. The sync component's child pipeline is built by its script from
// the matrix report.WriteGitLabMatrix writes, and checked the same way.

// glBeforeSHA is CI_COMMIT_BEFORE_SHA in the runs.
const glBeforeSHA = "1111111111111111111111111111111111111111"

// componentCases are the inputs each component is tried with: the
// defaults, then other values for every input it has.
func componentCases(c *glComponent) []map[string]string {
	base := maps.Clone(componentSamples[c.name])
	if base == nil {
		base = map[string]string{}
	}
	custom := maps.Clone(base)
	others := map[string]string{
		"stage": "acme-deploy", "job_prefix": "acme", "image": "registry.example/tools/pipe:v9.9.9@sha256:" + strings.Repeat("ab", 32),
		"dotenv": "reports/pipe.env", "deployment_tier": "staging",
	}
	args := map[string]string{
		"validate": "--strict apps", "plan": `--comment --title "prod: eu"`, "sync": "--wait-approval --lease 30m",
		"sync-app": "--wait-approval", "drift": "--issue --shard 1/2",
	}
	others["args"] = args[c.name]
	if c.name == "plan" {
		others["app"] = "web"
	}
	for k, v := range others {
		if _, ok := c.inputs[k]; ok {
			custom[k] = v
		}
	}
	return []map[string]string{base, custom}
}

func TestGitLabComponentsJobs(t *testing.T) {
	for _, c := range glComponents(t) {
		for i, given := range componentCases(c) {
			vals, err := c.values(given)
			if err != nil {
				t.Fatalf("%s: %v", c.path, err)
			}
			cfg, _, err := c.interpolate(vals)
			if err != nil {
				t.Fatalf("%s: %v", c.path, err)
			}
			p := newPipeline(c.path+caseName(i), cfg)
			p.component, p.stages, p.image = true, []string{vals["stage"]}, vals["image"]
			p.known = []string{"PIPE_DRIFT"} // the schedule's variable (drift)
			p.check(t)
			for _, name := range p.visible() {
				if !strings.HasPrefix(name, vals["job_prefix"]+":") {
					t.Errorf("%s: job %s is not named after job_prefix %q", p.where, name, vals["job_prefix"])
				}
				j := p.job(name)
				reports := mapAt(mapAt(j, "artifacts"), "reports")
				if d, ok := reports["dotenv"]; ok && d != vals["dotenv"] {
					t.Errorf("%s: job %s: dotenv report %v, want the dotenv input %q", p.where, name, d, vals["dotenv"])
				}
				for _, kind := range []string{"codequality", "junit"} {
					if f, ok := reports[kind].(string); ok && !strings.Contains(strings.Join(asStrings(j["script"]), "\n"), f) {
						t.Errorf("%s: job %s: the %s report %s is not what the script writes", p.where, name, kind, f)
					}
				}
				if _, ok := j["script"]; ok {
					checkComponentRun(t, c, vals, p, name)
				}
			}
		}
	}
}

func caseName(i int) string {
	if i == 0 {
		return " (defaults)"
	}
	return " (other inputs)"
}

// checkComponentRun runs a component's job and checks the command lines.
func checkComponentRun(t *testing.T, c *glComponent, vals map[string]string, p *glPipeline, name string) {
	t.Helper()
	where := p.where + ": job " + name
	run := runJob(t, where, p.job(name), nil, threeApps())
	args := strings.Fields(vals["args"])
	switch c.name {
	case "validate":
		wantRuns(t, where, run.calls, [][]string{append([]string{"validate", "--format", "codequality,junit", "--report",
			"gl-code-quality-report.json,pipe-validate-junit.xml"}, args...)})
	case "plan":
		want := []string{"plan"}
		if vals["app"] != "" {
			want = append(want, vals["app"])
		}
		want = append(want, "--dotenv", vals["dotenv"])
		if vals["args"] == `--comment --title "prod: eu"` {
			args = []string{"--comment", "--title", "prod: eu"}
		}
		wantRuns(t, where, run.calls, [][]string{append(want, args...)})
	case "drift":
		wantRuns(t, where, run.calls, [][]string{append([]string{"drift", "--dotenv", vals["dotenv"]}, args...)})
	case "sync-app":
		wantRuns(t, where, run.calls, [][]string{append([]string{"sync", vals["app"]}, args...)})
	case "sync":
		wantRuns(t, where, run.calls, [][]string{{"apps", "--changed", "--base", glBeforeSHA, "-o", "gitlab-matrix"}})
		checkChildPipeline(t, where, run.dir, vals, p, name)
	default:
		t.Errorf("%s: no test of the component %s's command lines", where, c.name)
	}
}

// checkChildPipeline checks the child pipeline the apps job of the sync
// component writes, with applications and without, and runs its job.
func checkChildPipeline(t *testing.T, where, dir string, vals map[string]string, p *glPipeline, appsJob string) {
	t.Helper()
	var trig map[string]any
	for _, n := range p.visible() {
		if j := p.job(n); j["trigger"] != nil {
			trig = j
		}
	}
	if trig == nil {
		t.Fatalf("%s: no trigger job", where)
	}
	forwarded := mapAt(trig, "variables")
	if forwarded["PIPE_IMAGE"] != vals["image"] || forwarded["PIPE_SYNC_ARGS"] != vals["args"] {
		t.Errorf("%s: the trigger passes %v", where, forwarded)
	}
	child := readChild(t, where, filepath.Join(dir, "pipe-apps.yml"))
	child.image, child.known = "$PIPE_IMAGE", []string{"PIPE_APP", "PIPE_ENVIRONMENT", "PIPE_IMAGE", "PIPE_SYNC_ARGS"}
	child.check(t)
	if !slices.Equal(child.visible(), []string{"pipe:sync"}) {
		t.Fatalf("%s: child jobs %v", where, child.visible())
	}
	sync := child.job("pipe:sync")
	env := mapAt(sync, "environment")
	if env["name"] != "$PIPE_ENVIRONMENT" || sync["resource_group"] != "pipe-$PIPE_APP" {
		t.Errorf("%s: child sync job %v", where, sync)
	}
	if tier := vals["deployment_tier"]; (tier == "" && env["deployment_tier"] != nil) || (tier != "" && env["deployment_tier"] != tier) {
		t.Errorf("%s: deployment tier %v, want %q", where, env["deployment_tier"], tier)
	}
	if d := mapAt(mapAt(sync, "artifacts"), "reports")["dotenv"]; d != vals["dotenv"] || mapAt(sync, "variables")["PIPE_DOTENV"] != vals["dotenv"] {
		t.Errorf("%s: the child's dotenv report %v", where, d)
	}
	// One matrix entry: its variables, and the trigger's.
	run := runJob(t, where+" child pipe:sync", sync, map[string]string{
		"PIPE_APP": "web", "PIPE_ENVIRONMENT": "prod", "PIPE_IMAGE": vals["image"], "PIPE_SYNC_ARGS": vals["args"]}, "")
	wantRuns(t, where+" child pipe:sync", run.calls, [][]string{append([]string{"sync", "web"}, strings.Fields(vals["args"])...)})

	// No application: a job that says so, since GitLab refuses a child
	// pipeline with no job.
	none := runJob(t, where+" (no application)", p.job(appsJob), nil, noApps())
	empty := readChild(t, where+" (no application)", filepath.Join(none.dir, "pipe-apps.yml"))
	empty.image, empty.known = "$PIPE_IMAGE", []string{"PIPE_IMAGE"}
	empty.check(t)
	if !slices.Equal(empty.visible(), []string{"pipe:no-changes"}) || mapAt(empty.job("pipe:no-changes"), "variables")["GIT_STRATEGY"] != "none" {
		t.Errorf("%s: with no application, the child jobs are %v", where, empty.visible())
	}
	checkOldMatrixRefused(t, where, p.job(appsJob))
}

// checkOldMatrixRefused: a pipe whose matrix has no PIPE_ENVIRONMENT (older
// than the file) fails the apps job, rather than deploying nothing.
func checkOldMatrixRefused(t *testing.T, where string, appsJob map[string]any) {
	t.Helper()
	old := report.GitLabMatrixHeader + "\n.pipe-apps:\n  parallel:\n    matrix:\n      - PIPE_APP:\n          - \"web\"\n"
	_, out, err := runScript(t, where+" (older pipe)", appsJob, nil, old)
	if err == nil || !strings.Contains(out, "gave no PIPE_ENVIRONMENT: the image's pipe is older than this file") {
		t.Errorf("%s: a matrix without PIPE_ENVIRONMENT: %v\n%s", where, err, out)
	}
}

func readChild(t *testing.T, where, path string) *glPipeline {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: the child pipeline is not YAML: %v\n%s", where, err, data)
	}
	return newPipeline(where+" child pipeline", cfg)
}

func threeApps() string {
	var b bytes.Buffer
	_ = report.WriteGitLabMatrix(&b, []report.GitLabMatrixApp{{Name: "web", Environment: "prod"}, {Name: "api"}, {Name: "db", Environment: "staging"}})
	return b.String()
}

func noApps() string {
	var b bytes.Buffer
	_ = report.WriteGitLabMatrix(&b, nil)
	return b.String()
}

// jobRun is what a job's script did: the pipe command lines it ran, in
// the directory it ran in.
type jobRun struct {
	calls [][]string
	dir   string
}

// runJob runs a job's before_script and script as GitLab runs them (one
// shell, each command checked) with its variables and extra ones in the
// environment, against a pipe that records its arguments and prints
// matrix for `pipe apps -o gitlab-matrix`.
func runJob(t *testing.T, where string, job map[string]any, extra map[string]string, matrix string) jobRun {
	t.Helper()
	run, out, err := runScript(t, where, job, extra, matrix)
	if err != nil {
		t.Fatalf("%s: the script failed: %v\n%s\n--- script ---\n%s", where, err, out, jobScript(job))
	}
	return run
}

func jobScript(job map[string]any) string {
	return strings.Join(append(asStrings(job["before_script"]), asStrings(job["script"])...), "\n")
}

// runScript runs a job's script as runJob does, and returns its output and
// how it ended.
func runScript(t *testing.T, where string, job map[string]any, extra map[string]string, matrix string) (jobRun, string, error) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the jobs' scripts")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, ".bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	fake := "#!/bin/sh\n" +
		"{ for a in \"$@\"; do printf '%s\\n' \"$a\"; done; printf '\\036\\n'; } >> \"$PIPE_TEST_LOG\"\n" +
		"case \" $* \" in *' -o gitlab-matrix '*) cat \"$PIPE_TEST_MATRIX\" ;; esac\n"
	if err := os.WriteFile(filepath.Join(bin, "pipe"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	logFile, matrixFile := filepath.Join(bin, "log"), filepath.Join(bin, "matrix.yml")
	if err := os.WriteFile(matrixFile, []byte(matrix), 0o644); err != nil {
		t.Fatal(err)
	}
	script := jobScript(job)
	shellcheck(t, where, script)
	cmd := exec.Command(sh, "-e", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + dir,
		"PIPE_TEST_LOG=" + logFile, "PIPE_TEST_MATRIX=" + matrixFile,
		"CI=true", "GITLAB_CI=true", "CI_PROJECT_DIR=" + dir, "CI_COMMIT_BEFORE_SHA=" + glBeforeSHA,
		"CI_COMMIT_BRANCH=main", "CI_DEFAULT_BRANCH=main", "CI_PIPELINE_SOURCE=push"}
	for k, v := range mapAt(job, "variables") {
		if m, ok := v.(map[string]any); ok {
			v = m["value"]
		}
		cmd.Env = append(cmd.Env, k+"="+asString(v))
	}
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, runErr := cmd.CombinedOutput()
	data, _ := os.ReadFile(logFile)
	var calls [][]string
	for _, rec := range strings.Split(string(data), "\036\n") {
		if rec == "" {
			continue
		}
		calls = append(calls, strings.Split(strings.TrimSuffix(rec, "\n"), "\n"))
	}
	for _, c := range calls {
		checkPipeAccepts(t, where, c)
	}
	return jobRun{calls: calls, dir: dir}, string(out), runErr
}

func asString(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(b))
}

func wantRuns(t *testing.T, where string, got, want [][]string) {
	t.Helper()
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("%s ran pipe %q, want %q", where, got, want)
	}
}

// checkPipeAccepts checks that the real pipe knows the command and its
// flags: `pipe ARGS... --help` parses them, then prints the help (exit 0).
func checkPipeAccepts(t *testing.T, where string, args []string) {
	t.Helper()
	var stderr bytes.Buffer
	code := cli.Main(cli.Env{
		Args: append(slices.Clone(args), "--help"), Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
		Getenv: func(string) string { return "" }, ReadFile: os.ReadFile, Now: time.Now,
	})
	if code != 0 {
		t.Errorf("%s: pipe refuses %q (exit %d): %s", where, args, code, stderr.String())
	}
}

// shellcheck checks a script as POSIX sh (the image's shell is busybox
// sh), when shellcheck is installed.
func shellcheck(t *testing.T, where, script string) {
	t.Helper()
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		return
	}
	cmd := exec.Command(sc, "--shell=sh", "--format=gcc", "-")
	cmd.Stdin = strings.NewReader("#!/bin/sh\n" + script + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: shellcheck: %v\n%s\n--- script (line 1 is #!/bin/sh) ---\n%s", where, err, out, script)
	}
}

// TestGitLabTemplate checks the deprecated remote include,
// ci/gitlab/pipe.gitlab-ci.yml, the same way: its jobs run the pipe image
// of PIPE_VERSION, in stages it defines, and its child pipeline works with
// and without applications.
func TestGitLabTemplate(t *testing.T) {
	path := filepath.Join("..", "..", "ci", "gitlab", "pipe.gitlab-ci.yml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "DEPRECATED in favour of the GitLab CI/CD components") {
		t.Errorf("%s does not say it is deprecated", path)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	p := newPipeline(path, cfg)
	p.image, p.known = Image+":$PIPE_VERSION", []string{"PIPE_DRIFT"}
	p.check(t)
	vars := map[string]string{}
	for k, v := range mapAt(p.global, "variables") {
		vars[k] = asString(v)
	}
	if vars["PIPE_VERSION"] != "latest" {
		t.Errorf("%s: PIPE_VERSION defaults to %q", path, vars["PIPE_VERSION"])
	}
	for _, name := range p.visible() {
		j := p.job(name)
		if _, ok := j["script"]; !ok {
			continue
		}
		run := runJob(t, path+": job "+name, j, vars, threeApps())
		if len(run.calls) != 1 {
			t.Errorf("%s: job %s ran pipe %q", path, name, run.calls)
			continue
		}
		if name != "pipe:apps" {
			continue
		}
		child := readChild(t, path, filepath.Join(run.dir, "pipe-apps.yml"))
		child.image, child.known = p.image, []string{"PIPE_APP", "PIPE_ENVIRONMENT", "PIPE_VERSION", "PIPE_DOTENV"}
		child.check(t)
		sync := child.job("pipe:sync")
		if mapAt(sync, "environment")["name"] != "$PIPE_ENVIRONMENT" || sync["resource_group"] != "pipe-$PIPE_APP" {
			t.Errorf("%s: child sync job %v", path, sync)
		}
		runJob(t, path+": child pipe:sync", sync, map[string]string{"PIPE_APP": "web", "PIPE_ENVIRONMENT": "prod", "PIPE_VERSION": "latest"}, "")
		none := runJob(t, path+": job pipe:apps (no application)", j, vars, noApps())
		empty := readChild(t, path, filepath.Join(none.dir, "pipe-apps.yml"))
		empty.image, empty.known = p.image, []string{"PIPE_VERSION"}
		empty.check(t)
		if !slices.Equal(empty.visible(), []string{"pipe:no-changes"}) {
			t.Errorf("%s: with no application, the child jobs are %v", path, empty.visible())
		}
		checkOldMatrixRefused(t, path, j)
	}
}
