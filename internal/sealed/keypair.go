package sealed

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// KEY_PAIR is PipeCD's hybrid scheme (pkg/crypto/hybrid.go, itself
// Bitnami sealed-secrets' construction): a random 32-byte AES-256 key
// encrypts the secret with AES-GCM and an all-zero nonce (the key is used
// once), the AES key is encrypted with RSA-OAEP (SHA-256, no label), and
// the ciphertext is
//
//	base64.StdEncoding( uint16_be(len(rsaCT)) || rsaCT || gcmCT )
const keyPairScheme = "KEY_PAIR"

// keyPairAESKeySize is the size of the AES key PipeCD wraps.
const keyPairAESKeySize = 32

// MinRSABits is the smallest RSA key GenerateRSA makes.
const MinRSABits = 2048

// RSAKeyPair encrypts (with Public) and decrypts (with Private) the
// KEY_PAIR scheme. Encrypt uses Private's public half when Public is nil.
type RSAKeyPair struct {
	Public  *rsa.PublicKey
	Private *rsa.PrivateKey
	// Previous are older private keys, tried in turn when Private is not
	// the ciphertext's key: while a rotation is rolled out, the commits
	// deployed before it still decrypt (a plan compares with them, a
	// rollback deploys them).
	Previous []*rsa.PrivateKey
}

func (k RSAKeyPair) publicKey() *rsa.PublicKey {
	if k.Public != nil {
		return k.Public
	}
	if k.Private != nil {
		return &k.Private.PublicKey
	}
	return nil
}

// Encrypt implements Encrypter.
func (k RSAKeyPair) Encrypt(_ context.Context, plaintext []byte) (string, error) {
	pub := k.publicKey()
	if pub == nil {
		return "", errors.New("KEY_PAIR: no public key to encrypt with")
	}
	if err := checkPlaintext(keyPairScheme, plaintext); err != nil {
		return "", err
	}
	symKey := make([]byte, keyPairAESKeySize)
	if _, err := rand.Read(symKey); err != nil {
		return "", fmt.Errorf("KEY_PAIR: random AES key: %w", err)
	}
	defer clear(symKey)
	gcm, err := newGCM(symKey)
	if err != nil {
		return "", fmt.Errorf("KEY_PAIR: %w", err)
	}
	rsaCT, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, symKey, nil)
	if err != nil {
		return "", fmt.Errorf("KEY_PAIR: RSA-OAEP encryption of the AES key with the %d-bit public key: %w", pub.N.BitLen(), err)
	}
	if len(rsaCT) > 0xffff {
		return "", fmt.Errorf("KEY_PAIR: a %d-bit RSA key is too large for the format", pub.N.BitLen())
	}
	out := make([]byte, 2, 2+len(rsaCT)+len(plaintext)+gcm.Overhead())
	binary.BigEndian.PutUint16(out, uint16(len(rsaCT)))
	out = append(out, rsaCT...)
	out = gcm.Seal(out, make([]byte, gcm.NonceSize()), plaintext, nil)
	return base64.StdEncoding.EncodeToString(out), nil
}

// errNoPrivateKey: a KEY_PAIR without the private key to decrypt with.
var errNoPrivateKey = errors.New("KEY_PAIR: no private key to decrypt with")

// Decrypt implements Decrypter. The ciphertext is decoded once, then
// tried with Private and each of Previous in turn.
func (k RSAKeyPair) Decrypt(ctx context.Context, ciphertext string) ([]byte, error) {
	if k.Private == nil {
		return nil, errNoPrivateKey
	}
	data, err := decodeBase64(keyPairScheme, ciphertext)
	if err != nil {
		return nil, err
	}
	plain, err := keyPairDecrypt(k.Private, data)
	for _, prev := range k.Previous {
		if err == nil || !errors.Is(err, ErrWrongKey) {
			break
		}
		plain, err = keyPairDecrypt(prev, data)
	}
	return plain, err
}

// keyPairDecrypt decrypts the decoded ciphertext data with priv.
func keyPairDecrypt(priv *rsa.PrivateKey, data []byte) ([]byte, error) {
	if priv == nil {
		return nil, errNoPrivateKey
	}
	if len(data) < 2 {
		return nil, malformed(keyPairScheme, "truncated: %d bytes", len(data))
	}
	rsaLen := int(binary.BigEndian.Uint16(data))
	if rsaLen == 0 {
		return nil, malformed(keyPairScheme, "no RSA part")
	}
	if len(data) < 2+rsaLen {
		return nil, malformed(keyPairScheme, "truncated: the RSA part has %d of its %d bytes", len(data)-2, rsaLen)
	}
	rsaCT, gcmCT := data[2:2+rsaLen], data[2+rsaLen:]
	if size := priv.Size(); rsaLen != size {
		return nil, wrongKey(keyPairScheme, "encrypted with a %d-bit RSA key, this private key has %d bits", rsaLen*8, size*8)
	}
	if len(gcmCT) < 16 {
		return nil, malformed(keyPairScheme, "truncated: the AES-GCM part has %d bytes, less than its 16-byte tag", len(gcmCT))
	}
	symKey, err := rsa.DecryptOAEP(sha256.New(), nil, priv, rsaCT, nil)
	if err != nil {
		return nil, wrongKey(keyPairScheme, "the private key cannot decrypt its AES key (RSA-OAEP SHA-256)")
	}
	defer clear(symKey)
	switch len(symKey) {
	case 16, 24, 32:
	default:
		return nil, malformed(keyPairScheme, "its wrapped AES key has %d bytes", len(symKey))
	}
	gcm, err := newGCM(symKey)
	if err != nil {
		return nil, fmt.Errorf("KEY_PAIR: %w", err)
	}
	plain, err := gcm.Open(nil, make([]byte, gcm.NonceSize()), gcmCT, nil)
	if err != nil {
		return nil, wrongKey(keyPairScheme, "AES-GCM authentication failed")
	}
	return plain, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// base64Problem describes a decoding error without the input.
func base64Problem(err error) string {
	var ce base64.CorruptInputError
	if errors.As(err, &ce) {
		return fmt.Sprintf("bad character or padding at byte %d", int64(ce))
	}
	return "invalid"
}

// pemOrBase64PEM returns the PEM text in data: data itself, or the base64
// of a PEM (PipeCD's privateKeyData and publicKeyData).
func pemOrBase64PEM(data []byte, what string) ([]byte, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("the %s is empty", what)
	}
	if bytes.HasPrefix(data, []byte("-----BEGIN")) {
		return data, nil
	}
	compact := strings.Join(strings.Fields(string(data)), "")
	decoded, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		return nil, fmt.Errorf("the %s is neither PEM (-----BEGIN ...) nor the base64 of a PEM", what)
	}
	decoded = bytes.TrimSpace(decoded)
	if !bytes.HasPrefix(decoded, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("the %s is base64, but not of a PEM (-----BEGIN ...)", what)
	}
	return decoded, nil
}

// pemBlocksOf returns the PEM blocks of data (a PEM, or the base64 of a
// PEM), in order; what names the key in errors.
func pemBlocksOf(data []byte, what string) ([]*pem.Block, error) {
	p, err := pemOrBase64PEM(data, what)
	if err != nil {
		return nil, err
	}
	blocks := pemBlocks(p)
	if len(blocks) == 0 {
		return nil, fmt.Errorf("the %s is not valid PEM (a -----BEGIN line without its -----END line or with bad base64)", what)
	}
	return blocks, nil
}

// pemBlocks returns the PEM blocks of data, in order.
func pemBlocks(data []byte) []*pem.Block {
	var blocks []*pem.Block
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return blocks
		}
		blocks = append(blocks, b)
	}
}

// ParseRSAPrivateKey parses an RSA private key: PEM (PKCS#1 "RSA PRIVATE
// KEY" or PKCS#8 "PRIVATE KEY", as openssl genpkey writes), or the base64
// of such a PEM (PipeCD's privateKeyData). Errors never hold key material.
func ParseRSAPrivateKey(data []byte) (*rsa.PrivateKey, error) {
	blocks, err := pemBlocksOf(data, privateKeyWhat)
	if err != nil {
		return nil, err
	}
	return privateKeyOf(blocks)
}

const privateKeyWhat = "RSA private key"

// privateKeyOf returns the first private key of blocks.
func privateKeyOf(blocks []*pem.Block) (*rsa.PrivateKey, error) {
	const what = privateKeyWhat
	var seen []string
	for _, b := range blocks {
		if x509.IsEncryptedPEMBlock(b) || b.Type == "ENCRYPTED PRIVATE KEY" { //nolint:staticcheck // only detected, to refuse it
			return nil, fmt.Errorf("the %s is encrypted with a passphrase; pipe needs it unencrypted (openssl pkey -in KEY -out PLAIN), kept in a CI secret", what)
		}
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the %s (PKCS#1 PEM) does not parse: %v", what, err)
			}
			return k, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the %s (PKCS#8 PEM) does not parse: %v", what, err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("the %s is a %s key; KEY_PAIR needs an RSA key (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072)", what, keyAlgorithm(k))
			}
			return rk, nil
		case "OPENSSH PRIVATE KEY":
			return nil, fmt.Errorf("the %s is in OpenSSH's format; convert it to PEM (ssh-keygen -p -m PKCS8 -f FILE) or make a new one with `pipe secret keygen`", what)
		}
		seen = append(seen, b.Type)
	}
	if len(seen) > 0 && strings.Contains(seen[0], "PUBLIC KEY") || len(seen) > 0 && seen[0] == "CERTIFICATE" {
		return nil, fmt.Errorf("the %s is a %s, not a private key: the private key (-----BEGIN PRIVATE KEY-----) is needed to decrypt", what, strings.ToLower(seen[0]))
	}
	return nil, fmt.Errorf("the %s has no PRIVATE KEY or RSA PRIVATE KEY PEM block (found %s)", what, strings.Join(seen, ", "))
}

// ParseRSAPrivateKeys parses one or more RSA private keys (PEM blocks one
// after the other, or the base64 of that): the current key first, then
// the previous ones a rotation keeps until every application was
// deployed past it.
func ParseRSAPrivateKeys(data []byte) ([]*rsa.PrivateKey, error) {
	all, err := pemBlocksOf(data, privateKeyWhat)
	if err != nil {
		return nil, err
	}
	// Other blocks (a certificate next to the key) are not keys.
	var blocks []*pem.Block
	for _, b := range all {
		if strings.Contains(b.Type, "PRIVATE KEY") {
			blocks = append(blocks, b)
		}
	}
	if len(blocks) <= 1 {
		k, err := privateKeyOf(all)
		if err != nil {
			return nil, err
		}
		return []*rsa.PrivateKey{k}, nil
	}
	keys := make([]*rsa.PrivateKey, 0, len(blocks))
	for i, b := range blocks {
		k, err := privateKeyOf([]*pem.Block{b})
		if err != nil {
			return nil, fmt.Errorf("key %d of %d: %w", i+1, len(blocks), err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// ParseRSAPublicKey parses an RSA public key: PEM (PKIX "PUBLIC KEY", as
// openssl pkey -pubout writes, or PKCS#1 "RSA PUBLIC KEY"), or the base64
// of such a PEM (PipeCD's publicKeyData). A private key is refused: a
// public key's place is no place for it.
func ParseRSAPublicKey(data []byte) (*rsa.PublicKey, error) {
	const what = "RSA public key"
	blocks, err := pemBlocksOf(data, what)
	if err != nil {
		return nil, err
	}
	var seen []string
	for _, b := range blocks {
		switch b.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the %s (PKIX PEM) does not parse: %v", what, err)
			}
			rk, ok := k.(*rsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("the %s is a %s key; KEY_PAIR needs an RSA key", what, keyAlgorithm(k))
			}
			return rk, nil
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the %s (PKCS#1 PEM) does not parse: %v", what, err)
			}
			return k, nil
		}
		if strings.Contains(b.Type, "PRIVATE KEY") {
			return nil, fmt.Errorf("a private key was given where the %s belongs: keep the private key secret, and give its public key (openssl pkey -in KEY -pubout)", what)
		}
		seen = append(seen, b.Type)
	}
	return nil, fmt.Errorf("the %s has no PUBLIC KEY or RSA PUBLIC KEY PEM block (found %s)", what, strings.Join(seen, ", "))
}

func keyAlgorithm(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "ECDSA"
	case ed25519.PrivateKey, ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", k)
}

// GenerateRSA makes an RSA key pair of bits bits (at least MinRSABits;
// PipeCD's docs use 2048, 3072 is the recommendation past 2030) and
// returns its PEM: PKCS#8 private key, PKIX public key.
func GenerateRSA(bits int) (privatePEM, publicPEM []byte, err error) {
	if bits < MinRSABits {
		return nil, nil, fmt.Errorf("an RSA key of %d bits is too weak: use at least %d", bits, MinRSABits)
	}
	if bits > 16384 {
		return nil, nil, fmt.Errorf("an RSA key of %d bits is too large: use 2048 to 8192", bits)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, nil, fmt.Errorf("generate a %d-bit RSA key: %w", bits, err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the RSA private key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the RSA public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), nil
}
