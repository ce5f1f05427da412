// Package sealed encrypts and decrypts the secrets an application config
// keeps in Git (encryption.encryptedSecrets), with the scheme the
// repository's secretManagement (.pipe/config.yaml) names:
//
//   - KEY_PAIR: PipeCD's hybrid scheme (RSA-OAEP wrapping an AES-256-GCM
//     key), byte-compatible with PipeCD, so that a PipeCD ciphertext
//     decrypts with the same private key;
//   - AGE: filippo.io/age with X25519 (or hybrid post-quantum) keys;
//   - AWS_KMS: envelope encryption with an AWS KMS data key.
//
// Every ciphertext is one line of base64 text, safe as a YAML scalar.
// Decrypting never panics: malformed input fails with ErrMalformed, a
// ciphertext of another key or an altered one with ErrWrongKey, and no
// error ever holds plaintext, key material or the ciphertext itself.
package sealed

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Encrypter encrypts a secret into a one-line ciphertext.
type Encrypter interface {
	Encrypt(ctx context.Context, plaintext []byte) (string, error)
}

// Decrypter decrypts a ciphertext of its scheme.
type Decrypter interface {
	Decrypt(ctx context.Context, ciphertext string) ([]byte, error)
}

var (
	// ErrMalformed: the text is not a ciphertext of this scheme (bad
	// base64, truncated, wrong header).
	ErrMalformed = errors.New("not a ciphertext of this scheme")
	// ErrWrongKey: the ciphertext was encrypted for another key, or was
	// altered (authentication failed).
	ErrWrongKey = errors.New("encrypted for another key, or altered")
)

const (
	// MaxPlaintextSize bounds a secret (PipeCD's pipectl encrypt reads at
	// most 10 MiB).
	MaxPlaintextSize = 10 << 20
	// MaxCiphertextSize bounds the text Decrypt reads: the base64 of the
	// largest secret plus room for the scheme's header, so that bad input
	// cannot exhaust memory.
	MaxCiphertextSize = (MaxPlaintextSize+64<<10)/3*4 + 64<<10
)

// malformed wraps ErrMalformed with the scheme and the reason.
func malformed(scheme, format string, args ...any) error {
	return fmt.Errorf("%s ciphertext: %s: %w", scheme, fmt.Sprintf(format, args...), ErrMalformed)
}

// wrongKey wraps ErrWrongKey with the scheme and the reason.
func wrongKey(scheme, format string, args ...any) error {
	return fmt.Errorf("%s ciphertext: %s: %w", scheme, fmt.Sprintf(format, args...), ErrWrongKey)
}

// checkPlaintext refuses a secret larger than MaxPlaintextSize.
func checkPlaintext(scheme string, p []byte) error {
	if len(p) > MaxPlaintextSize {
		return fmt.Errorf("%s: the secret is %d bytes, more than the %d MiB a secret may have", scheme, len(p), MaxPlaintextSize>>20)
	}
	return nil
}

// decodeBase64 decodes a ciphertext that is base64 (StdEncoding), with
// compactBase64's checks; an error tells what is wrong without the input.
func decodeBase64(scheme, ciphertext string) ([]byte, error) {
	s, err := compactBase64(scheme, ciphertext)
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, malformed(scheme, "not base64 (%s)", base64Problem(err))
	}
	return data, nil
}

// compactBase64 checks the size of a ciphertext and removes the ASCII
// white space a YAML block scalar or a line-wrapping tool may have put
// into it.
func compactBase64(scheme, s string) (string, error) {
	if len(s) > MaxCiphertextSize {
		return "", malformed(scheme, "%d bytes, more than the %d a ciphertext may have", len(s), MaxCiphertextSize)
	}
	if strings.TrimSpace(s) == "" {
		return "", malformed(scheme, "empty")
	}
	if !strings.ContainsAny(s, " \t\r\n\v\f") {
		return s, nil
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '\v', '\f':
			return -1
		}
		return r
	}, s), nil
}
