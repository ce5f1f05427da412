package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitops-pipe/pipe/internal/testenv/gitserver"
)

// The concurrency test runs separate OS processes, as separate CI jobs
// would. Until the pipe binary has commands that write records, the child
// is this test binary re-executed with PIPE_STATE_CHILD set (TestMain runs
// the child's role instead of the tests).
const childEnv = "PIPE_STATE_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(filepath.Dir(fixtureDir))
	}
	os.Exit(code)
}

// runChild is one child process: "writer" writes records (Begin, two
// Updates each), "locker" takes and releases one app's lock repeatedly.
// Results go to stdout, one event per line.
func runChild(role string) int {
	get := os.Getenv
	s, err := Open(get("CHILD_DIR"), Options{
		RemoteURL:   get("CHILD_URL"),
		Credentials: Credentials{Username: "x-access-token", Token: get("CHILD_TOKEN")},
		Now:         time.Now,
		Notify: func(n Notice) {
			if n.Level == LevelWarn {
				fmt.Fprintln(os.Stderr, "warning:", n.Msg)
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	app := get("CHILD_APP")
	n, _ := strconv.Atoi(get("CHILD_N"))
	switch role {
	case "writer":
		commits := strings.Split(get("CHILD_COMMITS"), ",")
		for i := 0; i < n; i++ {
			r := newRecord(app, commits[i%len(commits)])
			r.Status = StatusPlanned
			steps := []func(){
				func() {},
				func() { r.Status, r.Stages[0].Status = StatusRunning, StageRunning },
				func() {
					r.Status, r.Stages[0].Status, r.Stages[1].Status = StatusSucceeded, StageSucceeded, StageSkipped
				},
			}
			for j, step := range steps {
				step()
				var err error
				if j == 0 {
					err = s.Begin(bg, r)
				} else {
					err = s.Update(bg, r)
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "write %d.%d: %v\n", i, j, err)
					return 1
				}
			}
			fmt.Printf("wrote %s\n", r.ID)
		}
	case "locker":
		hold, _ := time.ParseDuration(get("CHILD_HOLD"))
		owner := get("CHILD_OWNER")
		for i := 0; i < n; i++ {
			var l *Lock
			for l == nil {
				got, err := s.Lock(bg, app, LockRequest{Owner: owner, Lease: time.Minute})
				var le *LockedError
				switch {
				case errors.As(err, &le):
					time.Sleep(time.Duration(5+time.Now().UnixNano()%20) * time.Millisecond)
				case err != nil:
					fmt.Fprintf(os.Stderr, "lock: %v\n", err)
					return 1
				default:
					l = got
				}
			}
			fmt.Printf("acquire %d %s\n", time.Now().UnixNano(), owner)
			time.Sleep(hold)
			fmt.Printf("release %d %s\n", time.Now().UnixNano(), owner)
			if err := s.Unlock(bg, l); err != nil {
				fmt.Fprintf(os.Stderr, "unlock: %v\n", err)
				return 1
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		return 2
	}
	return 0
}

// TestConcurrentProcesses: 16 processes write records for 8 apps at once
// (two per app, so every app's ref is contended) while 4 processes fight
// for one app's lock, all against the smart-HTTP server. Afterwards every
// record is on the remote exactly once, in its final state, and no two
// processes ever held the lock at the same time.
func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20 processes")
	}
	const (
		writers       = 16
		apps          = 8
		recordsEach   = 3
		lockers       = 4
		locksEach     = 5
		lockHold      = 15 * time.Millisecond
		concurrentApp = "contended"
	)
	e := newEnv(t, 4)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	type child struct {
		cmd    *exec.Cmd
		stdout *bytes.Buffer
		stderr *bytes.Buffer
	}
	var children []child
	start := func(role string, env ...string) {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + role, "CHILD_DIR=" + e.clone(t),
			"CHILD_URL=" + e.url, "CHILD_TOKEN=" + testToken}, env...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		children = append(children, child{cmd, &out, &errb})
	}
	for i := 0; i < writers; i++ {
		start("writer", fmt.Sprintf("CHILD_APP=app-%d", i%apps), fmt.Sprintf("CHILD_N=%d", recordsEach),
			"CHILD_COMMITS="+strings.Join(e.commits[i%2:], ","))
	}
	for i := 0; i < lockers; i++ {
		start("locker", "CHILD_APP="+concurrentApp, fmt.Sprintf("CHILD_N=%d", locksEach),
			"CHILD_HOLD="+lockHold.String(), fmt.Sprintf("CHILD_OWNER=locker-%d", i))
	}
	began := time.Now()
	for _, c := range children {
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range children {
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("child %d (%s): %v\n%s", i, c.cmd.Env[len(os.Environ())], err, c.stderr)
		}
	}
	t.Logf("%d processes done in %s", len(children), time.Since(began).Round(time.Millisecond))
	if t.Failed() {
		return
	}

	// Every record exactly once, in its final state.
	written := map[string]bool{}
	type span struct {
		from, to int64
		owner    string
	}
	var spans []span
	for _, c := range children {
		sc := bufio.NewScanner(c.stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch f[0] {
			case "wrote":
				written[f[1]] = true
			case "acquire":
				at, _ := strconv.ParseInt(f[1], 10, 64)
				spans = append(spans, span{from: at, owner: f[2]})
			case "release":
				at, _ := strconv.ParseInt(f[1], 10, 64)
				spans[len(spans)-1].to = at
			}
		}
	}
	if len(written) != writers*recordsEach {
		t.Errorf("children report %d records, want %d", len(written), writers*recordsEach)
	}
	counts := countRecordLines(t, e.bare)
	for id := range written {
		if counts[id] != 1 {
			t.Errorf("record %s appears %d times on the remote", id, counts[id])
		}
	}
	if len(counts) != len(written) {
		t.Errorf("remote has %d record ids, children wrote %d", len(counts), len(written))
	}
	s, notices := e.open(t, e.clone(t), newFakeClock())
	total := 0
	for i := 0; i < apps; i++ {
		h, err := s.History(bg, fmt.Sprintf("app-%d", i), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range h {
			total++
			if r.Status != StatusSucceeded || r.Revision != 3 || r.Stages[1].Status != StageSkipped {
				t.Errorf("record %s: status %s revision %d stages %+v", r.ID, r.Status, r.Revision, r.Stages)
			}
		}
	}
	if total != writers*recordsEach {
		t.Errorf("History lists %d records, want %d", total, writers*recordsEach)
	}
	if w := warnings(*notices); len(w) > 0 {
		t.Errorf("warnings: %v", w)
	}

	// The lock: every hold logged, none overlapping.
	if len(spans) != lockers*locksEach {
		t.Errorf("%d lock holds logged, want %d", len(spans), lockers*locksEach)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
	for i := 1; i < len(spans); i++ {
		if spans[i].from < spans[i-1].to {
			t.Errorf("lock held by %s from %d while %s held it until %d", spans[i].owner, spans[i].from, spans[i-1].owner, spans[i-1].to)
		}
	}
	if out, _ := gitserver.GitE(e.bare, "rev-parse", "--verify", "-q", "refs/pipe/locks/"+concurrentApp); out != "" {
		t.Errorf("lock left behind: %s", out)
	}
}

// countRecordLines counts, in every pipe notes ref of the bare repository,
// the record lines per id (reading the blobs directly, not through the
// merging reader).
func countRecordLines(t *testing.T, bare string) map[string]int {
	repo, err := git.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	refs, _ := repo.References()
	_ = refs.ForEach(func(r *plumbing.Reference) error {
		if !strings.HasPrefix(r.Name().String(), DefaultNotesRef+appsDir) {
			return nil
		}
		c, err := repo.CommitObject(r.Hash())
		if err != nil {
			t.Fatal(err)
		}
		nt, err := readNotesTree(repo.Storer, c.TreeHash, func(m string) { t.Error(m) })
		if err != nil {
			t.Fatal(err)
		}
		for _, blobs := range nt.notes {
			for _, b := range blobs {
				data, _ := readBlob(repo.Storer, b, MaxNoteSize)
				for _, line := range strings.Split(string(data), "\n") {
					var rec struct{ ID string }
					if json.Unmarshal([]byte(line), &rec) == nil && rec.ID != "" {
						counts[rec.ID]++
					}
				}
			}
		}
		return nil
	})
	return counts
}
