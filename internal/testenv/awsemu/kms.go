package awsemu

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// AWS KMS (kms*.go): symmetric encryption keys (SYMMETRIC_DEFAULT), their
// aliases, and the cryptographic operations on them. A ciphertext blob is
// opaque to clients and really encrypted: it names its key and holds the
// plaintext sealed with AES-256-GCM under a secret that key holds and
// nothing else, the encryption context bound as additional authenticated
// data. Altered blobs, blobs of another emulator's keys and a wrong
// encryption context fail as KMS fails them (InvalidCiphertextException).

// kmsState is the KMS part of the emulated account. Guarded by
// Emulator.mu.
type kmsState struct {
	keys    map[string]*kmsKey   // key ID → key
	order   []string             // key IDs in creation order (ListKeys)
	aliases map[string]*kmsAlias // "alias/NAME" → alias
}

// kmsKey is a KMS key.
type kmsKey struct {
	id, arn, description string
	created              time.Time
	enabled              bool
	deletion             time.Time // zero unless pending deletion
	pendingDays          int32
	secret               []byte // the AES-256 key material; never leaves the emulator
	tags                 []kmsTag
}

// kmsAlias is an alias of a key.
type kmsAlias struct {
	name, target     string // "alias/NAME", target key ID
	created, updated time.Time
}

// kmsTag is a key tag on the wire.
type kmsTag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

// The key states as KeyMetadata.KeyState names them.
const (
	kmsEnabled         = "Enabled"
	kmsDisabled        = "Disabled"
	kmsPendingDeletion = "PendingDeletion"
)

func (k *kmsKey) state() string {
	switch {
	case !k.deletion.IsZero():
		return kmsPendingDeletion
	case !k.enabled:
		return kmsDisabled
	}
	return kmsEnabled
}

// ensureKMS creates the KMS state on first use. Callers hold e.mu.
func (e *Emulator) ensureKMS() {
	if e.kms.keys == nil {
		e.kms.keys = map[string]*kmsKey{}
		e.kms.aliases = map[string]*kmsAlias{}
	}
}

// settleKMS deletes the keys whose deletion date has come, and their
// aliases, as KMS does at the end of the waiting period. Callers hold e.mu.
func (e *Emulator) settleKMS() {
	e.ensureKMS()
	now := e.now()
	for _, id := range slices.Clone(e.kms.order) {
		k := e.kms.keys[id]
		if k.deletion.IsZero() || now.Before(k.deletion) {
			continue
		}
		delete(e.kms.keys, id)
		e.kms.order = slices.DeleteFunc(e.kms.order, func(s string) bool { return s == id })
		for name, a := range e.kms.aliases {
			if a.target == id {
				delete(e.kms.aliases, name)
			}
		}
	}
}

func (e *Emulator) kmsARN(resource string) string {
	return "arn:aws:kms:" + e.region + ":" + AccountID + ":" + resource
}

// newKMSKey creates an enabled symmetric key. Callers hold e.mu.
func (e *Emulator) newKMSKey(description string, tags []kmsTag) (*kmsKey, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generating the key material: %w", err)
	}
	id := e.uuid()
	k := &kmsKey{id: id, arn: e.kmsARN("key/" + id), description: description, created: e.now(), enabled: true, secret: secret, tags: tags}
	e.kms.keys[id] = k
	e.kms.order = append(e.kms.order, id)
	return k, nil
}

var (
	kmsKeyIDRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	kmsAliasNameRE = regexp.MustCompile(`^[a-zA-Z0-9/_-]+$`)
)

// resolveKey finds the key a KeyId names: a key ID, a key ARN or, when
// aliases is set, an alias name (alias/NAME) or alias ARN; not found is
// NotFoundException worded as KMS words it. Callers hold e.mu.
func (e *Emulator) resolveKey(ref string, aliases bool) (*kmsKey, *apiError) {
	e.settleKMS()
	name := ref
	if rest, ok := strings.CutPrefix(ref, "arn:"); ok {
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) != 5 || parts[0] != "aws" || parts[1] != "kms" || parts[2] != e.region || parts[3] != AccountID {
			return nil, kmsErr("NotFoundException", "Invalid arn")
		}
		name = parts[4]
		if id, ok := strings.CutPrefix(name, "key/"); ok {
			k := e.kms.keys[id]
			if k == nil {
				return nil, kmsErr("NotFoundException", "Key '%s' does not exist", ref)
			}
			return k, nil
		}
		if !strings.HasPrefix(name, "alias/") {
			return nil, kmsErr("NotFoundException", "Invalid arn")
		}
	}
	if strings.HasPrefix(name, "alias/") {
		if !aliases {
			return nil, kmsErr("NotFoundException", "Invalid keyId %s", ref)
		}
		a := e.kms.aliases[name]
		if a == nil {
			return nil, kmsErr("NotFoundException", "Alias %s is not found.", e.kmsARN(name))
		}
		return e.kms.keys[a.target], nil
	}
	if !kmsKeyIDRE.MatchString(name) {
		return nil, kmsErr("NotFoundException", "Invalid keyId %s", ref)
	}
	k := e.kms.keys[strings.ToLower(name)]
	if k == nil {
		return nil, kmsErr("NotFoundException", "Key '%s' does not exist", e.kmsARN("key/"+name))
	}
	return k, nil
}

// usable is nil when k may be used in a cryptographic operation, else
// DisabledException or KMSInvalidStateException as KMS words them.
func (k *kmsKey) usable() *apiError {
	if k.state() == kmsDisabled {
		return kmsErr("DisabledException", "%s is disabled.", k.arn)
	}
	return k.notPendingDeletion()
}

// notPendingDeletion is nil unless k is pending deletion, when it is the
// KMSInvalidStateException KMS answers.
func (k *kmsKey) notPendingDeletion() *apiError {
	if k.state() == kmsPendingDeletion {
		return kmsErr("KMSInvalidStateException", "%s is pending deletion.", k.arn)
	}
	return nil
}

// setEnabled enables or disables k, as EnableKey and DisableKey do.
func (k *kmsKey) setEnabled(enabled bool) *apiError {
	if aerr := k.notPendingDeletion(); aerr != nil {
		return aerr
	}
	k.enabled = enabled
	return nil
}

// checkNewAlias checks the name of an alias to create: valid, as
// CreateAlias checks it, and not taken. Callers hold e.mu.
func (e *Emulator) checkNewAlias(name string) *apiError {
	if aerr := e.checkAliasName(name); aerr != nil {
		return aerr
	}
	if e.kms.aliases[name] != nil {
		return kmsErr("AlreadyExistsException", "An alias with the name %s already exists", e.kmsARN(name))
	}
	return nil
}

// addAlias creates the alias name of k. Callers hold e.mu.
func (e *Emulator) addAlias(name string, k *kmsKey) {
	now := e.now()
	e.kms.aliases[name] = &kmsAlias{name: name, target: k.id, created: now, updated: now}
}

// The ciphertext blob: version byte, the key ID (36 ASCII characters),
// the 12-byte GCM nonce, the sealed plaintext with its 16-byte tag.
const (
	kmsBlobVersion = 0x01
	kmsBlobHeader  = 1 + 36
	kmsNonceSize   = 12
	kmsMinBlob     = kmsBlobHeader + kmsNonceSize + 16
)

// seal encrypts plaintext under k, binding the encryption context.
func (k *kmsKey) seal(plaintext []byte, context map[string]string) ([]byte, error) {
	gcm, err := k.gcm()
	if err != nil {
		return nil, err
	}
	blob := make([]byte, kmsBlobHeader+kmsNonceSize, kmsBlobHeader+kmsNonceSize+len(plaintext)+gcm.Overhead())
	blob[0] = kmsBlobVersion
	copy(blob[1:kmsBlobHeader], k.id)
	if _, err := rand.Read(blob[kmsBlobHeader:]); err != nil {
		return nil, fmt.Errorf("generating a nonce: %w", err)
	}
	return gcm.Seal(blob, blob[kmsBlobHeader:], plaintext, kmsAAD(blob[:kmsBlobHeader], context)), nil
}

// errKMSBlob is a blob that does not open: altered, of another key or
// emulator, or with another encryption context.
var errKMSBlob = errors.New("the ciphertext does not open")

// open decrypts a blob of k (blobKeyID(blob) == k.id).
func (k *kmsKey) open(blob []byte, context map[string]string) ([]byte, error) {
	gcm, err := k.gcm()
	if err != nil {
		return nil, err
	}
	nonce := blob[kmsBlobHeader : kmsBlobHeader+kmsNonceSize]
	pt, err := gcm.Open(nil, nonce, blob[kmsBlobHeader+kmsNonceSize:], kmsAAD(blob[:kmsBlobHeader], context))
	if err != nil {
		return nil, errKMSBlob
	}
	return pt, nil
}

func (k *kmsKey) gcm() (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.secret)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// blobKeyID is the key ID a ciphertext blob names; false when the blob is
// not one of the emulator's.
func blobKeyID(blob []byte) (string, bool) {
	if len(blob) < kmsMinBlob || blob[0] != kmsBlobVersion {
		return "", false
	}
	id := string(blob[1:kmsBlobHeader])
	return id, kmsKeyIDRE.MatchString(id)
}

// kmsAAD is the additional authenticated data of a blob: its header and
// the encryption context, pairs sorted by key, each string length-prefixed
// so that no two contexts encode alike.
func kmsAAD(header []byte, context map[string]string) []byte {
	aad := slices.Clone(header)
	for _, k := range sortedKeys(context) {
		aad = binary.BigEndian.AppendUint32(aad, uint32(len(k)))
		aad = append(aad, k...)
		aad = binary.BigEndian.AppendUint32(aad, uint32(len(context[k])))
		aad = append(aad, context[k]...)
	}
	return aad
}

// CreateKMSKey creates an enabled symmetric key, as CreateKey does, and,
// when alias is not "", the alias alias/NAME (alias may be given with or
// without its alias/ prefix) of it. It returns the key's ARN.
func (e *Emulator) CreateKMSKey(alias string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settleKMS()
	name := ""
	if alias != "" {
		name = "alias/" + strings.TrimPrefix(alias, "alias/")
		if aerr := e.checkNewAlias(name); aerr != nil {
			return "", aerr
		}
	}
	k, err := e.newKMSKey("", nil)
	if err != nil {
		return "", err
	}
	if name != "" {
		e.addAlias(name, k)
	}
	return k.arn, nil
}

// SetKMSKeyEnabled enables or disables the key ref names (key ID, key
// ARN, alias name or alias ARN), as EnableKey and DisableKey do.
func (e *Emulator) SetKMSKeyEnabled(ref string, enabled bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, aerr := e.resolveKey(ref, true)
	if aerr != nil {
		return aerr
	}
	if aerr := k.setEnabled(enabled); aerr != nil {
		return aerr
	}
	return nil
}

// KMSKeyState is the KeyState of the key ref names: Enabled, Disabled or
// PendingDeletion; false when there is no such key.
func (e *Emulator) KMSKeyState(ref string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, aerr := e.resolveKey(ref, true)
	if aerr != nil {
		return "", false
	}
	return k.state(), true
}
