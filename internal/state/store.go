package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/gitops-pipe/pipe/internal/ctxtime"
)

// Store is what the sync engine and the CLI use. Every read first fetches
// the app's refs from the remote (once per Store for reads; a write always
// works against the remote's current value). Implementations are safe for
// concurrent use by one process.
type Store interface {
	// Begin writes a new record (status PLANNED or RUNNING). It fills in
	// ID (if empty), SchemaVersion, Revision, CreatedAt and UpdatedAt.
	Begin(ctx context.Context, rec *Record) error
	// Update writes a checkpoint of a record written by Begin: it
	// increments Revision and sets UpdatedAt, then writes and pushes.
	Update(ctx context.Context, rec *Record) error
	// Get returns the record with that id (ErrNotFound if none).
	Get(ctx context.Context, app, id string) (*Record, error)
	// LastSuccessful returns the app's most recent SUCCEEDED deployment
	// (ErrNotFound if none).
	LastSuccessful(ctx context.Context, app string) (*Record, error)
	// History returns up to limit records of the app, newest first
	// (limit <= 0: all).
	History(ctx context.Context, app string, limit int) ([]*Record, error)
	// Running returns the app's deployments that are not finished
	// (PLANNED, RUNNING, WAITING_APPROVAL, ROLLING_BACK), newest first.
	Running(ctx context.Context, app string) ([]*Record, error)
	// Status summarises one app for `pipe status`, from one read.
	Status(ctx context.Context, app string) (*AppStatus, error)
	// Apps lists the apps that have records or a lock, sorted.
	Apps(ctx context.Context) ([]string, error)

	// Lock takes the app's deployment lock, or takes over an expired one
	// (Lock.TakeoverOf says whose). A live lock of another holder is a
	// *LockedError.
	Lock(ctx context.Context, app string, req LockRequest) (*Lock, error)
	// Renew extends the lease; ErrLockLost if the lock is no longer ours.
	Renew(ctx context.Context, l *Lock) error
	// Unlock releases the lock; ErrLockLost if it was no longer ours.
	Unlock(ctx context.Context, l *Lock) error
	// ForceUnlock removes the app's lock whoever holds it and returns the
	// holder (nil if the app was not locked). The removal is recorded as an
	// event on the holder's deployment record, if it can be found.
	ForceUnlock(ctx context.Context, app string, req ForceUnlockRequest) (*LockInfo, error)
	// LockHolder returns the app's current lock (nil if none).
	LockHolder(ctx context.Context, app string) (*LockInfo, error)
}

// AppStatus is one app's state for `pipe status`.
type AppStatus struct {
	App string `json:"app"`
	// Last is the newest deployment, LastSuccessful the newest SUCCEEDED
	// one, Active the newest unfinished one (nil when none).
	Last           *Record   `json:"last,omitempty"`
	LastSuccessful *Record   `json:"lastSuccessful,omitempty"`
	Active         *Record   `json:"active,omitempty"`
	Lock           *LockInfo `json:"lock,omitempty"`
	// LockExpired is set when Lock's lease has passed (it can be taken over).
	LockExpired bool `json:"lockExpired,omitempty"`
}

// Level is the importance of a Notice.
type Level int

const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
)

func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	}
	return "warn"
}

// Notice is something the store reports without failing: a warning about
// unreadable note content, a retry after a concurrent push, a lock takeover.
type Notice struct {
	Level Level
	App   string
	Msg   string
}

// Identity names the author and committer of the notes and lock commits
// pipe writes.
type Identity struct {
	Name  string
	Email string
}

// Options configure a GitStore.
type Options struct {
	// Remote is the remote to fetch from and push to (default "origin");
	// RemoteURL overrides its configured URL.
	Remote    string
	RemoteURL string
	// Credentials authenticate to the remote.
	Credentials Credentials
	// NoPush keeps writes and locks local; reads still fetch.
	NoPush bool
	// Offline disables the remote entirely (no fetch, no push).
	Offline bool
	// Now is the clock (required): record times, leases.
	Now func() time.Time
	// Notify receives notices (may be nil).
	Notify func(Notice)
	// MaxAttempts bounds the tries of a write against concurrent writers
	// (default 10); Backoff is the base of the jittered exponential wait
	// between them (default 100ms, capped at 3s).
	MaxAttempts int
	Backoff     time.Duration
	// Sleep waits between retries (default: a timer honouring ctx).
	Sleep func(ctx context.Context, d time.Duration) error
	// Committer is the author and committer of the notes and lock commits
	// pipe writes; an empty Name defaults to "pipe", an empty Email to
	// "pipe@localhost". The repository's git config (user.name) is not read.
	Committer Identity
	// NotesRef is the prefix of the notes refs holding records (default
	// DefaultNotesRef, "refs/notes/pipe"): app's records are in
	// <NotesRef>/apps/<app>. It must be a valid ref name under refs/notes/
	// (Open rejects others). Locks stay under refs/pipe/locks/ whatever it is.
	NotesRef string
	// Mask, when set, masks secret values in what the store writes: it is
	// applied to the bytes of every note (records, the compaction summary),
	// lock and commit message before they are stored, so a secret value
	// that reached a record (an error message, a stage's output) is never
	// pushed. It must keep JSON valid (replace text inside strings) and
	// never lengthen its input; redact.Set.MaskBytes does both.
	Mask func([]byte) []byte
}

// GitStore is the Store backed by Git notes in a repository.
type GitStore struct {
	mu        sync.Mutex
	st        *filesystem.Storage
	opts      Options
	remoteURL string
	// notesPrefix is "<NotesRef>/apps/": app refs are notesPrefix+EncodeApp(app).
	notesPrefix string
	fetched     map[plumbing.ReferenceName]bool
	// pend holds the objects of branch commits until they are pushed.
	pend pending
}

var _ Store = (*GitStore)(nil)

// Open opens the repository containing dir (a working tree, a .git
// directory or a bare repository) as a Store.
func Open(dir string, opts Options) (*GitStore, error) {
	if opts.Now == nil {
		return nil, errors.New("state: Options.Now is required")
	}
	if opts.Remote == "" {
		opts.Remote = "origin"
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	if opts.Sleep == nil {
		opts.Sleep = ctxtime.Sleep
	}
	if opts.Committer.Name == "" {
		opts.Committer.Name = "pipe"
	}
	if opts.Committer.Email == "" {
		opts.Committer.Email = "pipe@localhost"
	}
	if opts.NotesRef == "" {
		opts.NotesRef = DefaultNotesRef
	}
	notesPrefix, err := notesPrefixOf(opts.NotesRef)
	if err != nil {
		return nil, &Error{Op: "open state", Msg: "invalid notes ref: " + err.Error(),
			Hint: "set spec.git.notesRef in .pipe/config.yaml to a ref under refs/notes/, e.g. " + DefaultNotesRef}
	}
	plain, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		plain, err = git.PlainOpen(dir) // a bare repository
	}
	if err != nil {
		return nil, &Error{Op: "open repository " + dir, Err: err, Hint: "run pipe inside a clone of the repository"}
	}
	fsStorage, ok := plain.Storer.(*filesystem.Storage)
	if !ok {
		return nil, fmt.Errorf("open repository %s: unexpected storage %T", dir, plain.Storer)
	}
	// Pack descriptors stay open and decoded objects are cached: reading
	// an app's notes reads each of its blobs once.
	st := filesystem.NewStorageWithOptions(fsStorage.Filesystem(), cache.NewObjectLRU(32*cache.MiByte),
		filesystem.Options{KeepDescriptors: true})
	s := &GitStore{st: st, opts: opts, notesPrefix: notesPrefix, fetched: map[plumbing.ReferenceName]bool{}}
	if !opts.Offline {
		s.remoteURL = opts.RemoteURL
		if s.remoteURL == "" {
			cfg, err := plain.Config()
			if err == nil && cfg.Remotes[opts.Remote] != nil && len(cfg.Remotes[opts.Remote].URLs) > 0 {
				s.remoteURL = cfg.Remotes[opts.Remote].URLs[0]
			}
		}
		if s.remoteURL == "" && opts.NoPush {
			s.opts.Offline = true
			s.notice(LevelInfo, "", fmt.Sprintf("the repository has no remote %q: records and locks stay local", opts.Remote))
		} else if s.remoteURL == "" {
			_ = st.Close()
			return nil, &Error{Op: "open state", Msg: fmt.Sprintf("the repository has no remote %q", opts.Remote),
				Hint: "records are shared through the remote: add it (git remote add origin URL), name another one, or run with --no-push (pipe event watch: --dry-run) for a local dry run"}
		}
	}
	return s, nil
}

// RemoteURL returns the URL of the named remote (default "origin") of the
// repository containing dir, so the caller can pick credentials for it
// (CredentialsFromEnv) before calling Open. Empty if there is no such remote.
func RemoteURL(dir, remote string) (string, error) {
	if remote == "" {
		remote = "origin"
	}
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		r, err = git.PlainOpen(dir)
	}
	if err != nil {
		return "", &Error{Op: "open repository " + dir, Err: err}
	}
	cfg, err := r.Config()
	if err != nil {
		return "", err
	}
	if rc := cfg.Remotes[remote]; rc != nil && len(rc.URLs) > 0 {
		return rc.URLs[0], nil
	}
	return "", nil
}

// NotesPrefix is the prefix of this store's notes refs, "<NotesRef>/apps/".
func (s *GitStore) NotesPrefix() string { return s.notesPrefix }

// Close releases the repository's open files.
func (s *GitStore) Close() error { return s.st.Close() }

// online reports whether reads fetch; pushing additionally needs !NoPush.
func (s *GitStore) online() bool { return !s.opts.Offline && s.remoteURL != "" }
func (s *GitStore) pushes() bool { return s.online() && !s.opts.NoPush }

func (s *GitStore) notice(l Level, app, msg string) {
	if s.opts.Notify != nil {
		s.opts.Notify(Notice{Level: l, App: app, Msg: msg})
	}
}

func (s *GitStore) commit(h plumbing.Hash) (*object.Commit, error) {
	return object.GetCommit(s.st, h)
}

// ref returns the value of a local ref (zero if absent).
func (s *GitStore) ref(name plumbing.ReferenceName) plumbing.Hash {
	r, err := s.st.Reference(name)
	if err != nil || r.Type() != plumbing.HashReference {
		return plumbing.ZeroHash
	}
	return r.Hash()
}

// setRef moves a local ref from old to next (zero next: delete), failing
// if another process moved it meanwhile.
func (s *GitStore) setRef(name plumbing.ReferenceName, old, next plumbing.Hash) error {
	if next.IsZero() {
		return s.st.RemoveReference(name)
	}
	var oldRef *plumbing.Reference
	if !old.IsZero() {
		oldRef = plumbing.NewHashReference(name, old)
	}
	return s.st.CheckAndSetReference(plumbing.NewHashReference(name, next), oldRef)
}
