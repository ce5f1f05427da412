package state

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Ref namespaces. Records: one notes ref per application. Locks: one ref per
// application. Remote-tracking copies of both live under
// refs/pipe/remotes/<remote>/, outside refs/notes so that `git log
// --notes='pipe/apps/*'` shows each record once.
const (
	notesPrefix   = "refs/notes/pipe/apps/"
	locksPrefix   = "refs/pipe/locks/"
	trackingRoot  = "refs/pipe/remotes/"
	notesRefShort = "pipe/apps/" // what `git notes --ref=` takes
)

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

// NotesRef is the full name of the notes ref holding app's records.
func NotesRef(app string) (plumbing.ReferenceName, error) {
	enc, err := EncodeApp(app)
	if err != nil {
		return "", err
	}
	return plumbing.ReferenceName(notesPrefix + enc), nil
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
