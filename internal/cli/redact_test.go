package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/notify"
	"github.com/gitops-pipe/pipe/internal/redact"
	"github.com/gitops-pipe/pipe/internal/testenv/fakes"
)

// The marker secrets: a token, a value with characters JSON and YAML
// escape, and a multi-line PEM-like key. Each holds "MARKER": no sink may.
const (
	markerToken  = "MARKER-tok-9f8e7d6c5b4a"
	markerQuoted = `pa"ss<wo>rd&MARKER-q\x`
	markerPEM    = "-----BEGIN PRIVATE KEY-----\nMARKERpemLINEoneAAAABBBBCCCC\nMARKERpemLINEtwoDDDDEEEEFFFF\n-----END PRIVATE KEY-----"
)

// leaked says which sink shows a marker (never the text around it).
func leaked(t *testing.T, sink, text string) {
	t.Helper()
	if i := strings.Index(text, "MARKER"); i >= 0 {
		t.Errorf("%s shows a secret value (at byte %d of %d)", sink, i, len(text))
	}
}

// hide masks the markers in text a failure message shows (a test that
// fails because masking does must not print the secrets either).
func hide(text string) string {
	return strings.ReplaceAll(redact.NewMasker(markerToken, markerQuoted, markerPEM).Mask(text), "MARKER", "M-A-R-K-E-R")
}

func maskGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", hide(strings.Join(args, " ")), err, hide(string(out)))
	}
	return strings.TrimSpace(string(out))
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// One run's secrets, planted in its Set, show in none of its sinks:
// stdout, stderr, the saved plan, the job summary and step outputs, the
// plan comment sent to GitHub, and the notes written to Git.
func TestSecretsMaskedInEverySink(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is needed")
	}
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	writeFiles(t, repo, map[string]string{
		"apps/web/app.pipecd.yaml": `apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: web
  pipeline:
    stages:
      - name: WAIT_APPROVAL
      - name: K8S_PRIMARY_ROLLOUT
`,
		"apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: \"1\"\n",
	})
	maskGit(t, repo, "init", "-q", "-b", "main")
	maskGit(t, repo, "add", "apps")
	maskGit(t, repo, "commit", "-q", "-m", "web v1")
	v1 := maskGit(t, repo, "rev-parse", "HEAD")
	record := fmt.Sprintf(`{"schemaVersion":1,"id":"01J000000000000000000000A1","revision":3,"app":"web","kind":"KubernetesApp",`+
		`"target":{"hash":%q,"subject":"web v1"},"trigger":{"kind":"push","actor":"alice"},"strategy":"PIPELINE",`+
		`"stages":[{"id":"stage-0","name":"WAIT_APPROVAL","status":"RUNNING"},{"id":"stage-1","name":"K8S_PRIMARY_ROLLOUT","status":"NOT_STARTED"}],`+
		`"status":"WAITING_APPROVAL","reason":"rendered with %s","createdAt":"2026-01-01T10:00:00Z","updatedAt":"2026-01-01T10:00:00Z"}`,
		v1, markerToken)
	writeFiles(t, dir, map[string]string{"record.json": record})
	maskGit(t, repo, "notes", "--ref=pipe/apps/web", "add", "-F", filepath.Join(dir, "record.json"), "HEAD")

	// The change: the decrypted values rendered into a ConfigMap (as a
	// careless chart would).
	writeFiles(t, repo, map[string]string{"apps/web/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n" +
		"  a: \"2\"\n  token: " + markerToken + "\n  quoted: '" + markerQuoted + "'\n  pem: |\n    " +
		strings.ReplaceAll(markerPEM, "\n", "\n    ") + "\n"})
	maskGit(t, repo, "commit", "-q", "-am", "web v2")

	gh, srv := fakes.NewGitHub("ghs_fakeT0ken0123456789abcdef")
	defer srv.Close()
	writeFiles(t, dir, map[string]string{"event.json": `{"action":"synchronize","number":7,"pull_request":{"number":7,` +
		`"head":{"sha":"0000000000000000000000000000000000000007","ref":"web-v2"},"base":{"ref":"main"}}}`})
	vars := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/deploys", "GITHUB_RUN_ID": "99",
		"GITHUB_SERVER_URL": "https://github.example", "GITHUB_API_URL": srv.URL, "GITHUB_TOKEN": "ghs_fakeT0ken0123456789abcdef",
		"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/7/merge", "GITHUB_EVENT_PATH": filepath.Join(dir, "event.json"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"), "GITHUB_OUTPUT": filepath.Join(dir, "output.txt"),
		"NO_COLOR": "1",
	}
	pipe := func(args ...string) (code int, stdout, stderr string) {
		t.Helper()
		secrets := redact.NewSet()
		secrets.Add(markerToken, markerQuoted, markerPEM)
		var out, errOut bytes.Buffer
		env := Env{Args: append([]string{"-C", repo}, args...), Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
			Getenv: func(k string) string { return vars[k] }, ReadFile: os.ReadFile, Now: time.Now}
		code = runWith(context.Background(), env, secrets)
		return code, out.String(), errOut.String()
	}

	// A plan posted to the pull request and saved; JSON on stdout.
	planFile := filepath.Join(dir, "plan.json")
	code, stdout, stderr := pipe("plan", "web", "--comment", "--out", planFile)
	if code != ExitOK {
		t.Fatalf("pipe plan: exit %d\n%s", code, hide(stderr))
	}
	leaked(t, "plan's stdout", stdout)
	leaked(t, "plan's stderr", stderr)
	saved, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	leaked(t, "the saved plan", string(saved))
	if !bytes.Contains(saved, []byte(`token: ***`)) {
		t.Error("the saved plan does not hold the masked values: the test plants nothing")
	}
	for _, f := range []string{"summary.md", "output.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		leaked(t, f, string(b))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "summary.md")); !bytes.Contains(b, []byte("***")) {
		t.Error("the job summary does not hold the masked values")
	}
	reqs := gh.Requests()
	if len(reqs) == 0 {
		t.Fatal("nothing was sent to GitHub")
	}
	posted := false
	for _, r := range reqs {
		leaked(t, r.Method+" "+r.Path, r.Body+r.Query)
		posted = posted || r.Method == "POST" && strings.Contains(r.Body, `***`)
	}
	if !posted {
		t.Error("no comment with the masked values was posted")
	}
	_, stdout, _ = pipe("plan", "web", "-o", "json")
	leaked(t, "plan -o json", stdout)

	// A record written to the notes: the approver's name and the record's
	// reason hold secrets.
	code, stdout, stderr = pipe("approve", "web", "--offline", "--by", "ci-"+markerToken)
	if code != ExitOK {
		t.Fatalf("pipe approve: exit %d\n%s", code, hide(stderr))
	}
	leaked(t, "approve's stdout", stdout)
	if !strings.Contains(stdout, "approved by ci-***") {
		t.Errorf("approve's stdout does not name the masked approver:\n%s", hide(stdout))
	}
	note := maskGit(t, repo, "notes", "--ref=pipe/apps/web", "show", v1)
	leaked(t, "the note", note)
	if !strings.Contains(note, `"ci-***"`) || !strings.Contains(note, `rendered with ***`) {
		t.Error("the note does not hold the approval and the reason, masked")
	}
	leaked(t, "the notes commit's message", maskGit(t, repo, "log", "-1", "--format=%B", "refs/notes/pipe/apps/web"))

	// An error on stderr, also with -o json.
	code, _, stderr = pipe(markerToken)
	if code != ExitUsage || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", code, hide(stderr))
	}
	leaked(t, "the error on stderr", stderr)
	code, stdout, stderr = pipe("plan", markerToken, "-o", "json")
	if code != ExitUsage || !strings.Contains(stderr, `no application named "***"`) {
		t.Errorf("plan of an unknown app: exit %d, stderr %q", code, hide(stderr))
	}
	leaked(t, "plan -o json's error", stdout+stderr)
}

// A panic in a command exits 1 with its value and stack, masked, on
// stderr.
func TestPanicMasked(t *testing.T) {
	secrets := redact.NewSet()
	secrets.Add(markerToken)
	var errOut bytes.Buffer
	w := maskedStream(secrets, &errOut)
	a := &app{err: w, secrets: secrets}
	root := &cobra.Command{Use: "pipe", SilenceErrors: true, SilenceUsage: true,
		RunE: func(*cobra.Command, []string) error { panic(errors.New("decrypting " + markerToken + " failed")) }}
	root.SetArgs(nil)
	err := a.execute(context.Background(), root)
	w.Flush()
	var e *Error
	if !errors.As(err, &e) || e.Code != ExitFailed || !e.Quiet {
		t.Fatalf("err = %v, want a quiet exit 1", err)
	}
	got := errOut.String()
	leaked(t, "the panic report", got)
	if !strings.HasPrefix(got, "pipe: internal error: decrypting *** failed\n") || !strings.Contains(got, "goroutine ") {
		t.Errorf("panic report:\n%s", hide(got))
	}
}

// The transport masks bodies and URL queries, keeps Content-Length right,
// refuses to send a signed body that would be changed, and leaves requests
// alone when there is nothing to mask.
func TestMaskingTransport(t *testing.T) {
	type got struct {
		body, query string
		length      int64
	}
	var last got
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		last = got{body: string(b), query: r.URL.RawQuery, length: r.ContentLength}
	}))
	defer srv.Close()
	secrets := redact.NewSet()
	a := &app{secrets: secrets}
	c := a.reportHTTPClient(5 * time.Second)

	post := func(body string, hdr map[string]string) error {
		req, _ := http.NewRequest("POST", srv.URL+"/hook?q="+markerToken+"&x=1", strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	body := `{"text":"value ` + markerToken + `, key \"` + strings.ReplaceAll(markerPEM, "\n", `\n`) + `\""}`
	// Nothing registered: sent as is.
	if err := post(body, nil); err != nil {
		t.Fatal(err)
	}
	if last.body != body {
		t.Error("an empty Set changed the body")
	}
	secrets.Add(markerToken, markerPEM)
	if err := post(body, nil); err != nil {
		t.Fatal(err)
	}
	leaked(t, "the body", last.body)
	leaked(t, "the query", last.query)
	if last.body != `{"text":"value ***, key \"***\""}` || last.query != "q=***&x=1" {
		t.Errorf("sent %q ? %q", hide(last.body), hide(last.query))
	}
	if last.length != int64(len(last.body)) {
		t.Errorf("Content-Length %d for a body of %d bytes", last.length, len(last.body))
	}
	// A signed body holding a secret is not sent; one without is.
	last = got{}
	err := post(body, map[string]string{notify.SignatureHeader: "t=1,v1=00"})
	if err == nil || !strings.Contains(err.Error(), "signed") || last.body != "" {
		t.Errorf("a signed body with a secret: err %v, sent %d bytes", err, len(last.body))
	}
	if err := post(`{"text":"fine"}`, map[string]string{notify.SignatureHeader: "t=1,v1=00"}); err != nil || last.body != `{"text":"fine"}` {
		t.Errorf("a signed body without a secret: err %v, sent %q", err, hide(last.body))
	}
}
