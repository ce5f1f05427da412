package sealed

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// AWS_KMS is envelope encryption: KMS GenerateDataKey (AES_256) gives a
// data key and its KMS-encrypted blob; the secret is encrypted with
// AES-256-GCM under the data key with a random 12-byte nonce, and the
// ciphertext is
//
//	base64.StdEncoding( "pkms" || 0x01 || uint16_be(len(blob)) || blob || nonce || gcmCT )
//
// Decrypt has KMS decrypt the blob (with KeyId, so that a blob of another
// key is refused by KMS) and opens the AES-GCM part.
const kmsScheme = "AWS_KMS"

var kmsMagic = []byte("pkms")

const (
	kmsVersion  = 1
	kmsNonceLen = 12
	kmsTagLen   = 16
)

// KMSClient is the part of the AWS KMS client (*kms.Client) the scheme
// uses.
type KMSClient interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMS encrypts and decrypts with the KMS key KeyID (a key ID, key ARN,
// alias/NAME or alias ARN).
type KMS struct {
	Client KMSClient
	KeyID  string
}

// Encrypt implements Encrypter.
func (k KMS) Encrypt(ctx context.Context, plaintext []byte) (string, error) {
	if k.Client == nil || k.KeyID == "" {
		return "", errors.New("AWS_KMS: no KMS client or key id")
	}
	if err := checkPlaintext(kmsScheme, plaintext); err != nil {
		return "", err
	}
	out, err := k.Client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(k.KeyID), KeySpec: types.DataKeySpecAes256})
	if err != nil {
		return "", fmt.Errorf("AWS_KMS: GenerateDataKey with key %s: %w", k.KeyID, err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != 32 {
		return "", fmt.Errorf("AWS_KMS: GenerateDataKey with key %s returned a %d-byte data key, want 32", k.KeyID, len(out.Plaintext))
	}
	if n := len(out.CiphertextBlob); n == 0 || n > 0xffff {
		return "", fmt.Errorf("AWS_KMS: GenerateDataKey with key %s returned an encrypted data key of %d bytes", k.KeyID, n)
	}
	gcm, err := newGCM(out.Plaintext)
	if err != nil {
		return "", fmt.Errorf("AWS_KMS: %w", err)
	}
	nonce := make([]byte, kmsNonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("AWS_KMS: random nonce: %w", err)
	}
	buf := make([]byte, 0, len(kmsMagic)+3+len(out.CiphertextBlob)+kmsNonceLen+len(plaintext)+kmsTagLen)
	buf = append(buf, kmsMagic...)
	buf = append(buf, kmsVersion)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(out.CiphertextBlob)))
	buf = append(buf, out.CiphertextBlob...)
	buf = append(buf, nonce...)
	buf = gcm.Seal(buf, nonce, plaintext, nil)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// Decrypt implements Decrypter.
func (k KMS) Decrypt(ctx context.Context, ciphertext string) ([]byte, error) {
	if k.Client == nil {
		return nil, errors.New("AWS_KMS: no KMS client")
	}
	data, err := decodeBase64(kmsScheme, ciphertext)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, kmsMagic) {
		return nil, malformed(kmsScheme, "no %q header", kmsMagic)
	}
	data = data[len(kmsMagic):]
	if len(data) < 3 {
		return nil, malformed(kmsScheme, "truncated header")
	}
	if data[0] != kmsVersion {
		return nil, malformed(kmsScheme, "format version %d, this pipe reads version %d", data[0], kmsVersion)
	}
	blobLen := int(binary.BigEndian.Uint16(data[1:3]))
	data = data[3:]
	if blobLen == 0 {
		return nil, malformed(kmsScheme, "no encrypted data key")
	}
	if len(data) < blobLen+kmsNonceLen+kmsTagLen {
		return nil, malformed(kmsScheme, "truncated: %d bytes after the header, less than the %d of its data key, nonce and tag", len(data), blobLen+kmsNonceLen+kmsTagLen)
	}
	blob, nonce, gcmCT := data[:blobLen], data[blobLen:blobLen+kmsNonceLen], data[blobLen+kmsNonceLen:]
	in := &kms.DecryptInput{CiphertextBlob: blob}
	if k.KeyID != "" {
		in.KeyId = aws.String(k.KeyID)
	}
	out, err := k.Client.Decrypt(ctx, in)
	var incorrect *types.IncorrectKeyException
	if errors.As(err, &incorrect) {
		// A data key of another KMS key: one of before a rotation (the
		// commits deployed then still decrypt, for plans and
		// rollbacks). The blob names its key; IAM decides whether this
		// job may use it.
		out, err = k.Client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
	}
	if err != nil {
		return nil, kmsDecryptError(k.KeyID, err)
	}
	defer clear(out.Plaintext)
	if len(out.Plaintext) != 32 {
		return nil, malformed(kmsScheme, "its data key has %d bytes, want 32", len(out.Plaintext))
	}
	gcm, err := newGCM(out.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("AWS_KMS: %w", err)
	}
	plain, err := gcm.Open(nil, nonce, gcmCT, nil)
	if err != nil {
		return nil, wrongKey(kmsScheme, "AES-GCM authentication failed")
	}
	return plain, nil
}

// kmsDecryptError classifies an error of KMS Decrypt: a blob KMS cannot
// decrypt is ErrWrongKey (one of another key KMS decrypts by the key it
// names, see Decrypt); access, network and configuration errors are told
// as they are (they hold no secret).
func kmsDecryptError(keyID string, err error) error {
	var invalid *types.InvalidCiphertextException
	if errors.As(err, &invalid) {
		return wrongKey(kmsScheme, "KMS cannot decrypt its data key (InvalidCiphertextException: another key, another account or region, or altered)")
	}
	return fmt.Errorf("AWS_KMS: KMS Decrypt of the data key (key %s): %w", keyID, err)
}
