// Package unseal prepares an application's files before they are rendered,
// as PipeCD's piped does: each file of `encryption.decryptionTargets` is
// rendered as a Go text/template with the decrypted `encryptedSecrets`,
// then each file of `attachment.targets` with the content of
// `attachment.sources` (sprig functions, missingkey=error; the data of
// both is rebuilt after each step, so an attachment source can itself be a
// decryption target).
//
// It renders in a tree the caller owns (an export of a commit, or a copy
// of the working tree): the working tree is never modified. Every
// decrypted value is handed to Register (the run's redactor) before it is
// written anywhere.
package unseal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"unicode/utf8"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/fsafe"
	"github.com/gitops-pipe/pipe/internal/lazyre"
	"github.com/gitops-pipe/pipe/internal/sealed"
	"github.com/gitops-pipe/pipe/internal/tmplfuncs"
)

// Decrypter decrypts one encrypted secret (sealed.Decrypter).
type Decrypter interface {
	Decrypt(ctx context.Context, ciphertext string) ([]byte, error)
}

// Unsealer renders the decryption targets and attachments of
// applications.
type Unsealer struct {
	// Key returns the decrypter of the repository's key, asked once,
	// when an application first has secrets to decrypt (an application
	// without any needs no key); nil when the repository configures no
	// secret management.
	Key func(ctx context.Context) (Decrypter, error)
	// Sealed renders every secret as a placeholder derived from its
	// ciphertext instead of decrypting it: a plan of an unreviewed change,
	// whose templates could print a secret in a form no redactor knows
	// (`{{ .encryptedSecrets.x | upper }}`). No key is needed then.
	Sealed bool
	// Register receives each decrypted value (and its base64-decoded
	// form, when it is one) before it is written anywhere.
	Register func(values ...string)

	mu  sync.Mutex
	dec Decrypter
}

// decrypter returns the key's decrypter, built on first use (a failure
// is not kept: the next application asks again, as a cancelled or timed
// out first attempt must not fail them all).
func (u *Unsealer) decrypter(ctx context.Context) (Decrypter, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.dec != nil {
		return u.dec, nil
	}
	if u.Key == nil {
		return nil, errors.New("the repository configures no secretManagement: add one to .pipe/config.yaml (`pipe secret keygen` makes a key and prints it)")
	}
	dec, err := u.Key(ctx)
	if err != nil {
		return nil, err
	}
	if dec == nil {
		return nil, errors.New("no key to decrypt with")
	}
	u.dec = dec
	return dec, nil
}

// Needed reports whether the application renders files before use: it
// has decryption targets or attachment targets.
func Needed(app *config.App) bool {
	if app == nil || app.Spec == nil {
		return false
	}
	g := app.Spec.Generic()
	return g.Encryption != nil && len(g.Encryption.DecryptionTargets) > 0 ||
		g.Attachment != nil && len(g.Attachment.Targets) > 0
}

// Unrendered reports whether s still holds a template of encrypted
// secrets or attachments: a file the app's config does not list as a
// target, which a deployment must not apply as it is.
func Unrendered(s string) bool {
	return strings.Contains(s, "{{") && (strings.Contains(s, ".encryptedSecrets") || strings.Contains(s, ".attachment"))
}

// MaxTarget caps a decryption or attachment target, and an attachment
// source: they are configuration files, not data.
const MaxTarget = 4 << 20

// Error is a failure to prepare an application's files; its message names
// the application, the file (file:line where known) and the secret, never
// a value.
type Error struct {
	App string
	// File is the file at fault, relative to the repository root, with
	// ":line[:column]" when known.
	File string
	Msg  string
	Err  error
	// transient: the key's service failed (a network error, throttling,
	// an interruption), not the configuration.
	transient bool
}

// Config reports whether the error is the configuration's (a secret for
// another key or malformed, no key, a template or file problem: exit 2),
// not a failure of the key's service to retry.
func (e *Error) Config() bool { return !e.transient }

func (e *Error) Error() string {
	return fmt.Sprintf("application %s: %s: %s", e.App, e.File, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Apply renders app's decryption targets, then its attachment targets, in
// place in root (a tree the caller owns: an export or a copy). app is the
// application's config as it is in that tree.
func (u *Unsealer) Apply(ctx context.Context, root string, app *config.App) error {
	if !Needed(app) {
		return nil
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	g := app.Spec.Generic()
	data := map[string]any{}
	if enc := g.Encryption; enc != nil && len(enc.DecryptionTargets) > 0 {
		secrets, err := u.secrets(ctx, r, app, enc)
		if err != nil {
			return err
		}
		data["encryptedSecrets"] = secrets
		if a := g.Attachment; a != nil && len(a.Sources) > 0 {
			att, err := attachments(r, app, a)
			if err != nil {
				return err
			}
			data["attachment"] = att
		}
		for _, t := range enc.DecryptionTargets {
			if err := render(r, app, t, "decryption target", data); err != nil {
				return err
			}
		}
	}
	if a := g.Attachment; a != nil && len(a.Targets) > 0 {
		// Rebuilt: a source may have been a decryption target.
		att, err := attachments(r, app, a)
		if err != nil {
			return err
		}
		data["attachment"] = att
		for _, t := range a.Targets {
			if err := render(r, app, t, "attachment target", data); err != nil {
				return err
			}
		}
	}
	return nil
}

// secrets decrypts the application's secrets (or seals them).
func (u *Unsealer) secrets(ctx context.Context, r *os.Root, app *config.App, enc *config.SecretEncryption) (map[string]string, error) {
	out := make(map[string]string, len(enc.EncryptedSecrets))
	if len(enc.EncryptedSecrets) == 0 {
		return out, nil
	}
	names := slices.Sorted(maps.Keys(enc.EncryptedSecrets))
	if u.Sealed {
		for _, k := range names {
			out[k] = Placeholder(enc.EncryptedSecrets[k])
		}
		return out, nil
	}
	dec, err := u.decrypter(ctx)
	if err != nil {
		return nil, &Error{App: app.Name, File: app.File, Msg: fmt.Sprintf("cannot decrypt its secrets (%s): %v", strings.Join(names, ", "), err), Err: err,
			transient: ctx.Err() != nil}
	}
	var lines map[string]int
	for _, k := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pt, err := dec.Decrypt(ctx, strings.TrimSpace(enc.EncryptedSecrets[k]))
		if err != nil {
			if lines == nil {
				lines = secretLines(r, app)
			}
			file := app.File
			if l := lines[k]; l > 0 {
				file = fmt.Sprintf("%s:%d", app.File, l)
			}
			return nil, &Error{App: app.Name, File: file, Msg: fmt.Sprintf("secret %q does not decrypt: %v", k, err), Err: err,
				transient: transient(ctx, err)}
		}
		v := string(pt)
		u.register(v)
		out[k] = v
	}
	return out, nil
}

// register hands a decrypted value, and the text it encodes when it is
// base64 (a secret encrypted with --base64 for a Kubernetes Secret's
// data), to the redactor.
func (u *Unsealer) register(v string) {
	if u.Register == nil {
		return
	}
	// A bare JSON literal or number ("true", "5432") is no secret worth
	// masking: masked, it would break every JSON document it appears in
	// as a value (records, plans).
	if t := strings.TrimSpace(v); t == "true" || t == "false" || t == "null" || isNumber(t) {
		return
	}
	vals := []string{v}
	if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err == nil && len(dec) > 0 && utf8.Valid(dec) {
		vals = append(vals, string(dec))
	}
	u.Register(vals...)
}

// transient reports whether a decryption failed for a reason of the
// moment (the network, throttling, an interruption) rather than of the
// configuration (another key, a disabled key, no access).
func transient(ctx context.Context, err error) bool {
	if errors.Is(err, sealed.ErrWrongKey) || errors.Is(err, sealed.ErrMalformed) {
		return false
	}
	var ne net.Error
	msg := err.Error()
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) ||
		strings.Contains(msg, "Throttling") || strings.Contains(msg, "RequestLimitExceeded") ||
		strings.Contains(msg, "exceeded maximum number of attempts")
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// Placeholder is what a sealed secret renders as: stable for a given
// ciphertext (a re-encrypted secret shows as changed), never the value.
func Placeholder(ciphertext string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(ciphertext)))
	return "sealed-" + hex.EncodeToString(sum[:8])
}

// attachments reads the attachment sources.
func attachments(r *os.Root, app *config.App, a *config.Attachment) (map[string]string, error) {
	out := make(map[string]string, len(a.Sources))
	for k, src := range a.Sources {
		name := appPath(app, src)
		b, err := fsafe.ReadFile(r, name, MaxTarget)
		if err != nil {
			return nil, &Error{App: app.Name, File: name, Msg: fmt.Sprintf("attachment %q: %v", k, cleanFSError(err)), Err: err}
		}
		out[k] = string(b)
	}
	return out, nil
}

// render renders one target file in place.
func render(r *os.Root, app *config.App, target, what string, data map[string]any) error {
	name := appPath(app, target)
	src, err := fsafe.ReadFile(r, name, MaxTarget)
	if err != nil {
		return &Error{App: app.Name, File: name, Msg: fmt.Sprintf("%s: %v", what, cleanFSError(err)), Err: err}
	}
	tmpl, err := template.New(name).Funcs(tmplfuncs.Sprig()).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return &Error{App: app.Name, File: name, Msg: fmt.Sprintf("%s is not a valid template: %s", what, templateMessage(err)), Err: err}
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return &Error{App: app.Name, File: name, Msg: fmt.Sprintf("%s: %s", what, execMessage(err, data)), Err: err}
	}
	// Written anew, not through a symlink the tree may hold, with the
	// file's permission bits.
	perm := os.FileMode(0o644)
	if st, err := r.Stat(name); err == nil {
		perm = st.Mode().Perm()
	}
	if err := r.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return &Error{App: app.Name, File: name, Msg: fmt.Sprintf("%s: %v", what, err), Err: err}
	}
	f, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err == nil {
		_, err = f.Write(buf.Bytes())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return &Error{App: app.Name, File: name, Msg: fmt.Sprintf("%s: write the rendered file: %v", what, err), Err: err}
	}
	return nil
}

// appPath is a path of the app's config (relative to its directory) as a
// path relative to the repository root.
func appPath(app *config.App, p string) string {
	if app.Dir == "" || app.Dir == "." {
		return path.Clean(p)
	}
	return path.Join(app.Dir, p)
}

var (
	noEntryRe = lazyre.New(`map has no entry for key "([^"]*)"`)
	posRe     = lazyre.New(`^template: ([^:]+:\d+(?::\d+)?): (.*)$`)
)

// templateMessage words a parse error: the position and the problem.
func templateMessage(err error) string {
	msg := err.Error()
	if m := posRe().FindStringSubmatch(msg); m != nil {
		msg = m[1] + ": " + m[2]
	}
	for _, f := range tmplfuncs.Withheld {
		if strings.Contains(msg, `function "`+f+`" not defined`) {
			return msg + " (pipe leaves out the template functions that read the environment or the network)"
		}
	}
	return msg
}

// execMessage words an execution error: where, and for a name that is not
// defined, which names are.
func execMessage(err error, data map[string]any) string {
	msg := err.Error()
	var ee template.ExecError
	if errors.As(err, &ee) {
		msg = ee.Err.Error()
	}
	pos := ""
	if m := posRe().FindStringSubmatch(msg); m != nil {
		pos, msg = m[1], m[2]
	}
	// "executing "x" at <.encryptedSecrets.pw>: map has no entry for key "pw""
	if m := noEntryRe().FindStringSubmatch(msg); m != nil {
		at := ""
		if i := strings.Index(msg, "at <"); i >= 0 {
			if j := strings.Index(msg[i:], ">"); j > 0 {
				at = msg[i+4 : i+j]
			}
		}
		switch {
		case strings.HasPrefix(at, ".encryptedSecrets"):
			msg = fmt.Sprintf("it uses secret %q, which encryptedSecrets does not define (%s)", m[1], defined(data["encryptedSecrets"]))
		case strings.HasPrefix(at, ".attachment"):
			msg = fmt.Sprintf("it uses attachment %q, which attachment.sources does not define (%s)", m[1], defined(data["attachment"]))
		default:
			msg = fmt.Sprintf("it uses %s, which is not defined: a template sees .encryptedSecrets.NAME and .attachment.NAME", strings.TrimSpace(at))
		}
	}
	if pos != "" {
		return pos + ": " + msg
	}
	return msg
}

// defined lists the names of a data map, for messages.
func defined(v any) string {
	m, _ := v.(map[string]string)
	if len(m) == 0 {
		return "none is"
	}
	return "defined: " + strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

// cleanFSError drops the Go package noise of a file error.
func cleanFSError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) && errors.Is(err, os.ErrNotExist) {
		return "the file does not exist"
	}
	return err.Error()
}
