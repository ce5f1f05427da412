package sealed

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// AGE is filippo.io/age with native keys (X25519 "age1...", and the
// hybrid post-quantum "age1pq1..."). The ciphertext is the base64
// (StdEncoding) of the binary age file, one line; Decrypt also accepts an
// ASCII-armored age file (-----BEGIN AGE ENCRYPTED FILE-----).
const ageScheme = "AGE"

const armorHeader = "-----BEGIN AGE ENCRYPTED FILE-----"

// AgeKeys encrypts to Recipients and decrypts with Identities.
type AgeKeys struct {
	Recipients []age.Recipient
	Identities []age.Identity
}

// Encrypt implements Encrypter.
func (k AgeKeys) Encrypt(_ context.Context, plaintext []byte) (string, error) {
	if len(k.Recipients) == 0 {
		return "", errors.New("AGE: no recipient to encrypt to")
	}
	if err := checkPlaintext(ageScheme, plaintext); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, k.Recipients...)
	if err != nil {
		return "", fmt.Errorf("AGE: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return "", fmt.Errorf("AGE: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("AGE: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// Decrypt implements Decrypter. The errors of age and of its armor, which
// may quote the input, are replaced by the package's own.
func (k AgeKeys) Decrypt(_ context.Context, ciphertext string) ([]byte, error) {
	if len(k.Identities) == 0 {
		return nil, errors.New("AGE: no identity to decrypt with")
	}
	var src io.Reader
	if t := strings.TrimSpace(ciphertext); strings.HasPrefix(t, armorHeader) {
		if len(t) > MaxCiphertextSize {
			return nil, malformed(ageScheme, "%d bytes, more than the %d a ciphertext may have", len(t), MaxCiphertextSize)
		}
		src = armor.NewReader(strings.NewReader(t + "\n"))
	} else {
		s, err := compactBase64(ageScheme, ciphertext)
		if err != nil {
			return nil, err
		}
		data, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, malformed(ageScheme, "neither base64 nor an armored age file (%s)", base64Problem(err))
		}
		if !bytes.HasPrefix(data, []byte("age-encryption.org/")) {
			return nil, malformed(ageScheme, "no age header (age-encryption.org/v1)")
		}
		src = bytes.NewReader(data)
	}
	r, err := age.Decrypt(src, k.Identities...)
	if err != nil {
		return nil, ageError(err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxPlaintextSize+1))
	if err != nil {
		return nil, ageError(err)
	}
	if len(plain) > MaxPlaintextSize {
		return nil, malformed(ageScheme, "its plaintext is larger than %d MiB", MaxPlaintextSize>>20)
	}
	return plain, nil
}

// ageError classifies an error of age without its text.
func ageError(err error) error {
	var noMatch *age.NoIdentityMatchError
	var armorErr *armor.Error
	switch {
	case errors.As(err, &noMatch):
		return wrongKey(ageScheme, "none of the %d identities is a recipient of it (its recipient types: %s)",
			len(noMatch.Errors), strings.Join(safeStanzaTypes(noMatch.StanzaTypes), ", "))
	case errors.As(err, &armorErr):
		return malformed(ageScheme, "bad armor")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return malformed(ageScheme, "truncated")
	}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "failed to read header"), strings.HasPrefix(msg, "failed to parse header"):
		return malformed(ageScheme, "bad header")
	case strings.Contains(msg, "bad header MAC"), strings.Contains(msg, "authenticate"):
		return wrongKey(ageScheme, "authentication failed")
	}
	return malformed(ageScheme, "unreadable age file")
}

// safeStanzaTypes keeps the well-formed, short recipient type names of a
// header (X25519, mlkem768x25519, scrypt, ...).
func safeStanzaTypes(types []string) []string {
	out := make([]string, 0, len(types))
	for _, t := range types {
		if len(t) > 32 || strings.IndexFunc(t, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
		}) >= 0 {
			t = "?"
		}
		out = append(out, t)
		if len(out) == 8 {
			break
		}
	}
	return out
}

// splitAgeList returns the entries of a list of age keys: one per line,
// or separated by commas or spaces; empty lines and '#' comments (to the
// end of the line) are skipped. Each entry comes with its line number.
func splitAgeList(text string) (entries []string, lines []int) {
	for i, line := range strings.Split(text, "\n") {
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		for _, f := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			entries = append(entries, f)
			lines = append(lines, i+1)
		}
	}
	return entries, lines
}

// ParseAgeRecipients parses age recipients ("age1...", "age1pq1..."),
// separated by newlines, commas or spaces, with '#' comments. An identity
// (AGE-SECRET-KEY-...) is refused without being echoed.
func ParseAgeRecipients(text string) ([]age.Recipient, error) {
	entries, lines := splitAgeList(text)
	if len(entries) == 0 {
		return nil, errors.New("no age recipient (age1...) found")
	}
	out := make([]age.Recipient, 0, len(entries))
	for i, e := range entries {
		var r age.Recipient
		var err error
		switch {
		case strings.HasPrefix(strings.ToUpper(e), "AGE-SECRET-KEY-"):
			return nil, fmt.Errorf("line %d: an age identity (a private key, AGE-SECRET-KEY-...) is where a recipient (public key, age1...) belongs: keep the identity secret and give its recipient (age-keygen -y)", lines[i])
		case strings.HasPrefix(e, "age1pq1"):
			r, err = age.ParseHybridRecipient(e)
		case strings.HasPrefix(e, "age1"):
			r, err = age.ParseX25519Recipient(e)
		case strings.HasPrefix(e, "ssh-"):
			return nil, fmt.Errorf("line %d: SSH keys are not supported as age recipients; make an age key with `pipe secret keygen` (or age-keygen)", lines[i])
		default:
			return nil, fmt.Errorf("line %d: entry %d is not an age recipient (age1...)", lines[i], i+1)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: recipient %s is malformed (bad checksum or length)", lines[i], truncateKey(e))
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseAgeIdentities parses age identities in age-keygen's file format:
// "AGE-SECRET-KEY-1..." (or "AGE-SECRET-KEY-PQ-1...") lines, '#'
// comments. Errors never hold key material.
func ParseAgeIdentities(text string) ([]age.Identity, error) {
	entries, lines := splitAgeList(text)
	if len(entries) == 0 {
		return nil, errors.New("no age identity (AGE-SECRET-KEY-1...) found")
	}
	out := make([]age.Identity, 0, len(entries))
	for i, e := range entries {
		var id age.Identity
		var err error
		switch {
		case strings.HasPrefix(e, "AGE-SECRET-KEY-PQ-1"):
			id, err = age.ParseHybridIdentity(e)
		case strings.HasPrefix(e, "AGE-SECRET-KEY-1"):
			id, err = age.ParseX25519Identity(e)
		case strings.HasPrefix(e, "age1"):
			return nil, fmt.Errorf("line %d: an age recipient (public key, age1...) is where an identity (AGE-SECRET-KEY-1...) belongs", lines[i])
		case strings.HasPrefix(e, "AGE-PLUGIN-"):
			return nil, fmt.Errorf("line %d: age plugin identities are not supported; use a native age identity (age-keygen)", lines[i])
		default:
			return nil, fmt.Errorf("line %d: not an age identity (AGE-SECRET-KEY-1...)", lines[i])
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: the age identity is malformed (bad checksum or length)", lines[i])
		}
		out = append(out, id)
	}
	return out, nil
}

// truncateKey shortens a public key for a message.
func truncateKey(s string) string {
	if len(s) > 16 {
		return s[:12] + "..."
	}
	return s
}

// AgeRecipientsOf returns the recipients of identities (their public
// keys).
func AgeRecipientsOf(ids []age.Identity) ([]age.Recipient, error) {
	out := make([]age.Recipient, 0, len(ids))
	for _, id := range ids {
		switch id := id.(type) {
		case *age.X25519Identity:
			out = append(out, id.Recipient())
		case *age.HybridIdentity:
			out = append(out, id.Recipient())
		default:
			return nil, fmt.Errorf("the recipient of an age identity of type %T cannot be derived; list the recipients", id)
		}
	}
	return out, nil
}

// GenerateAge makes an X25519 age key: the identity (AGE-SECRET-KEY-1...,
// secret) and its recipient (age1..., public).
func GenerateAge() (identity, recipient string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", fmt.Errorf("generate an age key: %w", err)
	}
	return id.String(), id.Recipient().String(), nil
}
