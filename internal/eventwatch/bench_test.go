package eventwatch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/state"
	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// The benchmark of `pipe event watch`'s engine: 200 watchers (one app each,
// a deployment.yaml per app) and 1,000 registered events, five versions of
// each watcher's event, so that every run applies 200 values and records
// 800 events OUTDATED. It runs eventwatch.Run through a real state.GitStore
// against a bare repository served by `git http-backend`, and, on the same
// data in the same run, the git operations that work needs done with the
// git command line: fetch main and the events ref, read the 200 files and
// the event notes, write the 200 edited files, one commit, one push, append
// the handlings to the notes and push the notes ref. It reports both times
// per run and their ratio (pipe/git).
//
//	go test -run XXX -bench EventWatch -benchtime 3x ./internal/eventwatch/

const (
	benchApps          = 200
	benchEventsPerApp  = 5
	benchAnchorCommits = 10 // events are noted on this many commits of main
)

func BenchmarkEventWatch(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git is not installed")
	}
	bf := newBenchFixture(b)
	var pipeTime, gitTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		bf.reset(b)
		dir := bf.checkout(b, fmt.Sprintf("pipe-%d", i))
		b.StartTimer()
		start := time.Now()
		res := bf.runPipe(b, dir)
		pipeTime += time.Since(start)
		b.StopTimer()
		pipeTree := bf.check(b, res)

		bf.reset(b)
		dir = bf.checkout(b, fmt.Sprintf("git-%d", i))
		b.StartTimer()
		start = time.Now()
		gitTree := bf.runGit(b, dir)
		gitTime += time.Since(start)
		b.StopTimer()
		if gitTree != pipeTree {
			b.Fatalf("pipe's files (tree %s) differ from the git command line's (tree %s)", pipeTree, gitTree)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(pipeTime.Nanoseconds())/float64(b.N), "pipe-ns/op")
	b.ReportMetric(float64(gitTime.Nanoseconds())/float64(b.N), "git-ns/op")
	b.ReportMetric(float64(pipeTime)/float64(gitTime), "pipe/git")
}

type benchFixture struct {
	root     string // temporary directory of everything
	bare     string
	url      string
	env      []string // git's environment: no user config, the token as a header
	template string   // a clone of the seeded main, copied for each run
	watchers []Watcher
	// mainSeed and notesSeed are the seeded refs each run starts from;
	// anchors are main's commits the events are noted on.
	mainSeed, notesSeed string
	anchors             []string
}

func newBenchFixture(b *testing.B) *benchFixture {
	b.Helper()
	bf := &benchFixture{root: b.TempDir()}
	bf.bare = gitserver.NewBareRepo(b, bf.root, "gitops.git")
	srv := gitserver.StartHTTP(b, bf.root, gitserver.HTTPOptions{Token: token})
	bf.url = srv.RepoURL("gitops.git")
	basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
	bf.env = append(gitserver.Env(), "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader",
		"GIT_CONFIG_VALUE_0=Authorization: Basic "+basic)

	seed := filepath.Join(bf.root, "seed")
	for i := range benchApps {
		dir := filepath.Join(seed, "apps", appName(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		write(b, filepath.Join(dir, "app.pipecd.yaml"), fmt.Sprintf(benchApp, appName(i)))
		write(b, filepath.Join(dir, "deployment.yaml"), fmt.Sprintf(benchDeployment, appName(i), image(i, 0)))
	}
	write(b, filepath.Join(seed, "README.md"), "GitOps\n")
	gitserver.Git(b, "", "init", "-q", "-b", "main", seed)
	gitserver.Git(b, seed, "add", ".")
	gitserver.Git(b, seed, "commit", "-qm", "200 apps")
	bf.anchors = append(bf.anchors, strings.TrimSpace(gitserver.Git(b, seed, "rev-parse", "HEAD")))
	for i := 1; i < benchAnchorCommits; i++ {
		write(b, filepath.Join(seed, "README.md"), fmt.Sprintf("GitOps, change %d\n", i))
		gitserver.Git(b, seed, "commit", "-qam", fmt.Sprintf("change %d", i))
		bf.anchors = append(bf.anchors, strings.TrimSpace(gitserver.Git(b, seed, "rev-parse", "HEAD")))
	}
	gitserver.Git(b, seed, "push", "-q", bf.bare, "main")
	bf.mainSeed = bf.anchors[len(bf.anchors)-1]
	bf.notesSeed = bf.seedEvents(b)

	repo, err := config.LoadRepo(seed)
	if err != nil {
		b.Fatal(err)
	}
	if bf.watchers, err = Collect(repo); err != nil {
		b.Fatal(err)
	}
	if len(bf.watchers) != benchApps {
		b.Fatalf("%d watchers, want %d", len(bf.watchers), benchApps)
	}
	bf.template = filepath.Join(bf.root, "template")
	bf.git(b, "", nil, "clone", "-q", bf.url, bf.template)
	return bf
}

// seedEvents writes the 1,000 events as state writes them (one JSON line
// each, noted on main's commits) in one notes commit, with git
// fast-import, and returns it.
func (bf *benchFixture) seedEvents(b *testing.B) string {
	b.Helper()
	notes := make([]bytes.Buffer, len(bf.anchors))
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	n := 0
	for v := 1; v <= benchEventsPerApp; v++ {
		for i := range benchApps {
			created := at.Add(time.Duration(n) * time.Second)
			ev := &state.RegisteredEvent{ID: state.NewID(created), Name: appName(i) + "-image", Value: image(i, v),
				CreatedAt: created, By: "https://ci.example/runs/" + strconv.Itoa(n)}
			line, err := json.Marshal(struct {
				Type string `json:"type"`
				*state.RegisteredEvent
			}{"event", ev})
			if err != nil {
				b.Fatal(err)
			}
			buf := &notes[n%len(notes)]
			buf.Write(line)
			buf.WriteByte('\n')
			n++
		}
	}
	var in bytes.Buffer
	msg := "seed 1000 events"
	fmt.Fprintf(&in, "commit refs/notes/pipe/events\ncommitter bench <bench@example.com> 1764579600 +0000\ndata %d\n%s\n", len(msg), msg)
	for i, a := range bf.anchors {
		fmt.Fprintf(&in, "M 100644 inline %s\ndata %d\n%s\n", a, notes[i].Len(), notes[i].Bytes())
	}
	bf.git(b, bf.bare, &in, "fast-import", "--quiet")
	return strings.TrimSpace(bf.git(b, bf.bare, nil, "rev-parse", "refs/notes/pipe/events"))
}

// reset puts the remote's main and events ref back to their seeds.
func (bf *benchFixture) reset(b *testing.B) {
	b.Helper()
	bf.git(b, bf.bare, nil, "update-ref", "refs/heads/main", bf.mainSeed)
	bf.git(b, bf.bare, nil, "update-ref", "refs/notes/pipe/events", bf.notesSeed)
}

// checkout is a fresh clone of the seeded main (as a CI checkout is): a
// copy of the template clone.
func (bf *benchFixture) checkout(b *testing.B, name string) string {
	b.Helper()
	dir := filepath.Join(bf.root, name)
	if out, err := exec.Command("cp", "-a", bf.template, dir).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v: %s", err, out)
	}
	return dir
}

// runPipe is what `pipe event watch` runs once the watchers are read.
func (bf *benchFixture) runPipe(b *testing.B, dir string) *Result {
	b.Helper()
	st, err := state.Open(dir, state.Options{RemoteURL: bf.url, Now: time.Now,
		Credentials: state.Credentials{Username: "x-access-token", Token: token, TokenSource: "PIPE_GIT_TOKEN"}})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	res, err := Run(context.Background(), Options{Store: st, Watchers: bf.watchers, Now: time.Now, By: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// check verifies a run of pipe: 200 values applied, 800 events outdated,
// every handling recorded; it returns the tree of the branch it pushed.
func (bf *benchFixture) check(b *testing.B, res *Result) string {
	b.Helper()
	count := map[string]int{}
	for _, it := range res.Items {
		count[it.Status]++
	}
	want := map[string]int{state.HandledSuccess: benchApps, state.HandledOutdated: benchApps * (benchEventsPerApp - 1)}
	if len(count) != 2 || count[state.HandledSuccess] != want[state.HandledSuccess] || count[state.HandledOutdated] != want[state.HandledOutdated] {
		b.Fatalf("items by status: %v, want %v", count, want)
	}
	head := strings.TrimSpace(bf.git(b, bf.bare, nil, "rev-parse", "refs/heads/main"))
	if head != res.Head || head == bf.mainSeed {
		b.Fatalf("main is at %s, the run says it pushed %s", head, res.Head)
	}
	notes := bf.git(b, bf.bare, nil, "log", "-1", "--format=%B", "refs/notes/pipe/events")
	if !strings.Contains(notes, "1000 event handling(s)") {
		b.Fatalf("the handlings were not recorded in one commit: %q", notes)
	}
	return strings.TrimSpace(bf.git(b, bf.bare, nil, "rev-parse", "refs/heads/main^{tree}"))
}

// runGit does the git operations of a watch with the git command line, in
// a clone at dir, and returns the tree it committed.
func (bf *benchFixture) runGit(b *testing.B, dir string) string {
	b.Helper()
	bf.git(b, dir, nil, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main",
		"+refs/notes/pipe/events:refs/notes/pipe/events")
	// Read the event notes and the 200 files in one cat-file.
	var specs bytes.Buffer
	for _, a := range bf.anchors {
		fmt.Fprintf(&specs, "refs/notes/pipe/events:%s\n", a)
	}
	for i := range benchApps {
		fmt.Fprintf(&specs, "refs/remotes/origin/main:apps/%s/deployment.yaml\n", appName(i))
	}
	blobs := catFile(b, bf.git(b, dir, &specs, "cat-file", "--batch"))
	if len(blobs) != len(bf.anchors)+benchApps {
		b.Fatalf("cat-file read %d objects", len(blobs))
	}
	// Write the edited files and the tree.
	edits := filepath.Join(dir, ".git", "edits")
	if err := os.MkdirAll(edits, 0o755); err != nil {
		b.Fatal(err)
	}
	var paths bytes.Buffer
	for i, data := range blobs[len(bf.anchors):] {
		p := filepath.Join(edits, appName(i)+".yaml")
		write(b, p, strings.Replace(string(data), image(i, 0), image(i, benchEventsPerApp), 1))
		fmt.Fprintln(&paths, p)
	}
	hashes := strings.Fields(bf.git(b, dir, &paths, "hash-object", "-w", "--stdin-paths"))
	var index bytes.Buffer
	for i, h := range hashes {
		fmt.Fprintf(&index, "100644 %s\tapps/%s/deployment.yaml\n", h, appName(i))
	}
	idx := []string{"GIT_INDEX_FILE=" + filepath.Join(dir, ".git", "bench-index")}
	bf.gitEnv(b, dir, nil, idx, "read-tree", "refs/remotes/origin/main")
	bf.gitEnv(b, dir, &index, idx, "update-index", "--index-info")
	tree := strings.TrimSpace(bf.gitEnv(b, dir, nil, idx, "write-tree"))
	commit := strings.TrimSpace(bf.git(b, dir, nil, "commit-tree", tree, "-p", "refs/remotes/origin/main", "-m", "Replace values"))
	bf.git(b, dir, nil, "push", "-q", "origin", commit+":refs/heads/main")
	// Append the 1,000 handlings to the notes of their events and push.
	for k, a := range bf.anchors {
		var h bytes.Buffer
		for n := k; n < benchApps*benchEventsPerApp; n += len(bf.anchors) {
			fmt.Fprintf(&h, `{"type":"handling","event":"%d","watcher":"app %s eventWatcher[0]","status":"OUTDATED","at":"2026-12-01T10:00:00Z"}`+"\n",
				n, appName(n%benchApps))
		}
		bf.git(b, dir, &h, "notes", "--ref=pipe/events", "append", "-F", "-", a)
	}
	bf.git(b, dir, nil, "push", "-q", "origin", "refs/notes/pipe/events")
	return tree
}

// catFile splits `git cat-file --batch` output into the objects' contents.
func catFile(b *testing.B, out string) [][]byte {
	b.Helper()
	r := bufio.NewReader(strings.NewReader(out))
	var objs [][]byte
	for {
		header, err := r.ReadString('\n')
		if err != nil {
			return objs
		}
		f := strings.Fields(header)
		if len(f) != 3 {
			b.Fatalf("cat-file: %q", header)
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			b.Fatal(err)
		}
		data := make([]byte, size+1) // the content and its newline
		if _, err := io.ReadFull(r, data); err != nil {
			b.Fatal(err)
		}
		objs = append(objs, data[:size])
	}
}

func (bf *benchFixture) git(b *testing.B, dir string, stdin *bytes.Buffer, args ...string) string {
	b.Helper()
	return bf.gitEnv(b, dir, stdin, nil, args...)
}

func (bf *benchFixture) gitEnv(b *testing.B, dir string, stdin *bytes.Buffer, env []string, args ...string) string {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), bf.env...), env...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func write(b *testing.B, path, content string) {
	b.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}

func appName(i int) string { return fmt.Sprintf("app-%03d", i) }

func image(app, version int) string {
	return fmt.Sprintf("gcr.io/acme/%s:v1.0.%d", appName(app), version)
}

const benchApp = `apiVersion: pipecd.dev/v1beta1
kind: KubernetesApp
spec:
  name: %[1]s
  eventWatcher:
    - matcher: {name: %[1]s-image}
      handler:
        type: GIT_UPDATE
        config:
          replacements:
            - file: deployment.yaml
              yamlField: $.spec.template.spec.containers[0].image
`

const benchDeployment = `# %[1]s: its image is set by pipe event watch.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels: {app: %[1]s, team: platform}
spec:
  replicas: 3
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
      annotations:
        prometheus.io/scrape: "true"
    spec:
      containers:
        - name: %[1]s
          image: %[2]s # set by events
          args: ["--port", "8080"]
          ports:
            - containerPort: 8080
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 256Mi}
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
`
