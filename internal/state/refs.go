package state

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// DefaultNotesRef is the default of Options.NotesRef.
const DefaultNotesRef = "refs/notes/pipe"

// Ref namespaces. Records: one notes ref per application,
// <NotesRef>/apps/<app>. Locks: one ref per application, always under
// refs/pipe/locks/ whatever NotesRef is (see docs/state.md). Remote-tracking
// copies of both live under refs/pipe/remotes/<remote>/, outside refs/notes
// so that `git log --notes='pipe/apps/*'` shows each record once.
const (
	notesRoot    = "refs/notes/"
	appsDir      = "/apps/"
	locksPrefix  = "refs/pipe/locks/"
	trackingRoot = "refs/pipe/remotes/"
)

// checkNotesRef explains why ref cannot be the NotesRef under which records
// are kept (nil when it can): it must be a valid ref name under refs/notes/.
// The rules are those of internal/config's check of spec.git.notesRef.
func checkNotesRef(ref string) error {
	if !strings.HasPrefix(ref, notesRoot) || len(ref) == len(notesRoot) {
		return fmt.Errorf("%q is not under refs/notes/ (git notes only reads refs there)", ref)
	}
	for _, bad := range []string{"..", "//", "@{", "/.", ".lock/"} {
		if strings.Contains(ref, bad) {
			return fmt.Errorf("%q contains %q, which git does not allow in a ref name", ref, bad)
		}
	}
	if strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock") {
		return fmt.Errorf("%q ends with /, . or .lock, which git does not allow in a ref name", ref)
	}
	for _, r := range ref {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return fmt.Errorf("%q contains %q, which git does not allow in a ref name", ref, r)
		}
	}
	if err := plumbing.ReferenceName(ref + appsDir + "x").Validate(); err != nil {
		return fmt.Errorf("%q: %w", ref, err)
	}
	return nil
}

// notesPrefixOf is where the notes refs of apps live for a NotesRef ("":
// DefaultNotesRef): "<notesRef>/apps/".
func notesPrefixOf(notesRef string) (string, error) {
	if notesRef == "" {
		notesRef = DefaultNotesRef
	}
	if err := checkNotesRef(notesRef); err != nil {
		return "", err
	}
	return notesRef + appsDir, nil
}

// EncodeApp turns an application name into the ref component used for its
// notes ref and lock ref. Letters, digits, '-' and '_' stay as they are;
// '.' stays except where git forbids it (leading, doubled, trailing, a
// ".lock" ending); every other byte (including '/', so that app "a" and app
// "a/b" cannot collide as ref and directory) becomes %XX. The encoding is
// reversible (DecodeApp) and canonical: every writer computes the same ref.
func EncodeApp(app string) (string, error) {
	if app == "" {
		return "", fmt.Errorf("empty application name")
	}
	var b strings.Builder
	for i := 0; i < len(app); i++ {
		c := app[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && i > 0 && i < len(app)-1 && app[i-1] != '.' && app[i+1] != '.' &&
			!(i == len(app)-5 && strings.HasSuffix(app, ".lock")):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String(), nil
}

// DecodeApp reverses EncodeApp. A component that is not a valid encoding
// (a ref made by hand) is returned as it is, with ok false.
func DecodeApp(enc string) (app string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(enc); i++ {
		if enc[i] != '%' {
			b.WriteByte(enc[i])
			continue
		}
		if i+2 >= len(enc) || !isUpperHex(enc[i+1]) || !isUpperHex(enc[i+2]) {
			return enc, false
		}
		b.WriteByte(unhex(enc[i+1])<<4 | unhex(enc[i+2]))
		i += 2
	}
	return b.String(), true
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

// AppNotesRef is the full name of the notes ref holding app's records when
// records are kept under notesRef (Options.NotesRef; "" for
// DefaultNotesRef): <notesRef>/apps/<EncodeApp(app)>.
func AppNotesRef(notesRef, app string) (plumbing.ReferenceName, error) {
	prefix, err := notesPrefixOf(notesRef)
	if err != nil {
		return "", err
	}
	enc, err := EncodeApp(app)
	if err != nil {
		return "", err
	}
	return plumbing.ReferenceName(prefix + enc), nil
}

// NotesRef is the full name of the notes ref holding app's records in this
// store (<Options.NotesRef>/apps/<EncodeApp(app)>).
func (s *GitStore) NotesRef(app string) (plumbing.ReferenceName, error) {
	enc, err := EncodeApp(app)
	if err != nil {
		return "", err
	}
	return plumbing.ReferenceName(s.notesPrefix + enc), nil
}

// NotesRefShort is what `git notes --ref=` and `git log --notes=` take for
// app's notes ref: its name without refs/notes/ ("pipe/apps/web").
func (s *GitStore) NotesRefShort(app string) (string, error) {
	ref, err := s.NotesRef(app)
	return strings.TrimPrefix(ref.String(), notesRoot), err
}

// LockRef is the full name of app's lock ref.
func LockRef(app string) (plumbing.ReferenceName, error) {
	enc, err := EncodeApp(app)
	if err != nil {
		return "", err
	}
	return plumbing.ReferenceName(locksPrefix + enc), nil
}

// trackingRef is where a fetch from remote keeps its copy of ref.
func trackingRef(remote string, ref plumbing.ReferenceName) plumbing.ReferenceName {
	return plumbing.ReferenceName(trackingRoot + remote + "/" + strings.TrimPrefix(ref.String(), "refs/"))
}
