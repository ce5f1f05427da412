package sealed

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// fakeKMS is an in-memory KMS: a data key's blob is the key id, a '|',
// and the data key sealed with the key's own AES-GCM key (so a blob is
// bound to its key, as in KMS).
type fakeKMS struct {
	keys     map[string][]byte // key id -> its AES key
	aliases  map[string]string
	calls    []string
	decryptE error // returned by Decrypt when set
}

func newFakeKMS(ids ...string) *fakeKMS {
	f := &fakeKMS{keys: map[string][]byte{}, aliases: map[string]string{}}
	for _, id := range ids {
		k := make([]byte, 32)
		rand.Read(k)
		f.keys[id] = k
	}
	return f
}

func (f *fakeKMS) resolve(id string) (string, error) {
	if a, ok := f.aliases[id]; ok {
		id = a
	}
	if _, ok := f.keys[id]; !ok {
		return "", &types.NotFoundException{Message: aws.String("Key '" + id + "' does not exist")}
	}
	return id, nil
}

func (f *fakeKMS) gcm(id string) cipher.AEAD {
	b, _ := aes.NewCipher(f.keys[id])
	g, _ := cipher.NewGCM(b)
	return g
}

func (f *fakeKMS) GenerateDataKey(_ context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	f.calls = append(f.calls, "GenerateDataKey "+aws.ToString(in.KeyId)+" "+string(in.KeySpec))
	id, err := f.resolve(aws.ToString(in.KeyId))
	if err != nil {
		return nil, err
	}
	if in.KeySpec != types.DataKeySpecAes256 {
		return nil, errors.New("ValidationException: KeySpec")
	}
	dk := make([]byte, 32)
	rand.Read(dk)
	nonce := make([]byte, 12)
	rand.Read(nonce)
	blob := append([]byte(id+"|"), nonce...)
	blob = f.gcm(id).Seal(blob, nonce, dk, nil)
	return &kms.GenerateDataKeyOutput{Plaintext: bytes.Clone(dk), CiphertextBlob: blob, KeyId: aws.String(id)}, nil
}

func (f *fakeKMS) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	f.calls = append(f.calls, "Decrypt "+aws.ToString(in.KeyId))
	if f.decryptE != nil {
		return nil, f.decryptE
	}
	blobID, rest, ok := bytes.Cut(in.CiphertextBlob, []byte("|"))
	if !ok || len(rest) < 12+16 || f.keys[string(blobID)] == nil {
		return nil, &types.InvalidCiphertextException{Message: aws.String("invalid")}
	}
	if in.KeyId != nil {
		id, err := f.resolve(*in.KeyId)
		if err != nil {
			return nil, err
		}
		if id != string(blobID) {
			return nil, &types.IncorrectKeyException{Message: aws.String("incorrect key")}
		}
	}
	dk, err := f.gcm(string(blobID)).Open(nil, rest[:12], rest[12:], nil)
	if err != nil {
		return nil, &types.InvalidCiphertextException{Message: aws.String("invalid")}
	}
	return &kms.DecryptOutput{Plaintext: dk, KeyId: aws.String(string(blobID))}, nil
}

func TestKMSRoundTripAndFormat(t *testing.T) {
	ctx := context.Background()
	f := newFakeKMS("key-a", "key-b")
	f.aliases["alias/pipe"] = "key-a"
	k := KMS{Client: f, KeyID: "alias/pipe"}
	plain := []byte("kms secret\n")
	ct, err := k.Encrypt(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Decrypt(ctx, ct)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("round trip: %v", err)
	}
	if want := []string{"GenerateDataKey alias/pipe AES_256", "Decrypt alias/pipe"}; fmt.Sprint(f.calls) != fmt.Sprint(want) {
		t.Errorf("KMS calls %v, want %v", f.calls, want)
	}
	// The layout of the spec, decoded by hand: "pkms" 0x01 len blob nonce gcm.
	raw, _ := base64.StdEncoding.DecodeString(ct)
	if string(raw[:4]) != "pkms" || raw[4] != 1 {
		t.Fatalf("header % x", raw[:5])
	}
	n := int(binary.BigEndian.Uint16(raw[5:7]))
	blob := raw[7 : 7+n]
	nonce, gcmCT := raw[7+n:7+n+12], raw[7+n+12:]
	out, err := f.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := aes.NewCipher(out.Plaintext)
	g, _ := cipher.NewGCM(b)
	if p, err := g.Open(nil, nonce, gcmCT, nil); err != nil || !bytes.Equal(p, plain) {
		t.Fatalf("hand decoding: %v", err)
	}
	// Without a key id, KMS finds the key from the blob.
	if got, err := (KMS{Client: f}).Decrypt(ctx, ct); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("without KeyID: %v", err)
	}
	// Two encryptions differ (random data key and nonce).
	ct2, _ := k.Encrypt(ctx, plain)
	if ct2 == ct {
		t.Fatal("two ciphertexts of the same secret are equal")
	}
}

func TestKMSErrors(t *testing.T) {
	ctx := context.Background()
	const secret = "the-plaintext-value"
	f := newFakeKMS("key-a", "key-b")
	k := KMS{Client: f, KeyID: "key-a"}
	ct, err := k.Encrypt(ctx, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(ct)
	enc := base64.StdEncoding.EncodeToString
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return enc(b)
	}
	badVersion := bytes.Clone(raw)
	badVersion[4] = 2
	zeroLen := append([]byte("pkms\x01\x00\x00"), raw[7:]...)
	for _, c := range []struct {
		name, ct string
		key      KMS
		want     error
		msg      string
	}{
		{"empty", "", k, ErrMalformed, "empty"},
		{"not base64", "@@@@", k, ErrMalformed, "not base64"},
		{"KEY_PAIR ciphertext", pipecdKnownAnswer, k, ErrMalformed, `no "pkms" header`},
		{"short header", enc([]byte("pkms\x01")), k, ErrMalformed, "truncated header"},
		{"version", enc(badVersion), k, ErrMalformed, "format version 2"},
		{"no blob", enc(zeroLen), k, ErrMalformed, "no encrypted data key"},
		{"truncated", enc(raw[:len(raw)-20]), k, ErrMalformed, "truncated"},
		{"altered blob", flip(7 + 8), k, ErrWrongKey, "InvalidCiphertextException"},
		{"altered secret", flip(len(raw) - 1), k, ErrWrongKey, "authentication"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.key.Decrypt(ctx, c.ct)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if got != nil {
				t.Errorf("returned %d bytes with the error", len(got))
			}
			if msg := err.Error(); !strings.Contains(msg, c.msg) || !strings.Contains(msg, "AWS_KMS") || strings.Contains(msg, secret) {
				t.Errorf("error %q: want %q, the scheme, and no plaintext", msg, c.msg)
			}
		})
	}
	// An access or network error is told as it is, not as a wrong key.
	f.decryptE = errors.New("AccessDeniedException: not authorized to perform kms:Decrypt")
	_, err = k.Decrypt(ctx, ct)
	if err == nil || errors.Is(err, ErrWrongKey) || errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "key-a") {
		t.Fatalf("access denied: %v", err)
	}
	f.decryptE = nil
	if _, err := (KMS{Client: f, KeyID: "alias/missing"}).Encrypt(ctx, []byte("x")); err == nil || !strings.Contains(err.Error(), "alias/missing") {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := (KMS{}).Encrypt(ctx, []byte("x")); err == nil {
		t.Fatal("encrypt without a client succeeded")
	}
}

func TestKMSDecryptsTheDataKeyOfAPreviousKey(t *testing.T) {
	f := newFakeKMS("key-a", "key-b")
	ctx := context.Background()
	ct, err := KMS{Client: f, KeyID: "key-a"}.Encrypt(ctx, []byte("before the rotation"))
	if err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	got, err := KMS{Client: f, KeyID: "key-b"}.Decrypt(ctx, ct)
	if err != nil || string(got) != "before the rotation" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	if want := []string{"Decrypt key-b", "Decrypt "}; !slices.Equal(f.calls, want) {
		t.Errorf("calls %q, want %q (the configured key, then the blob's own)", f.calls, want)
	}
}
