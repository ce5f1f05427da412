package sealed_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/gitops-pipe/pipe/internal/sealed"
	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

// The AWS_KMS scheme against the project's KMS emulator, through the real
// aws-sdk-go-v2 KMS client: real blobs, real KMS errors.

const kmsSecret = "postgres://app:s3cr3t-Pa55@db.internal:5432/app"

// emuKMS starts an emulator with a key aliased alias/NAME for each name and
// returns it, a KMS client on it and the keys' ARNs.
func emuKMS(t *testing.T, aliases ...string) (*awsemu.Emulator, *kms.Client, []string) {
	t.Helper()
	emu, srv := awsemu.Start(awsemu.Options{})
	t.Cleanup(srv.Close)
	var arns []string
	for _, a := range aliases {
		arn, err := emu.CreateKMSKey(a)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, arn)
	}
	c := kms.New(kms.Options{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(awsemu.AccessKeyID, awsemu.SecretAccessKey, "")})
	return emu, c, arns
}

// noSecret fails when an error tells the plaintext.
func noSecret(t *testing.T, step string, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), kmsSecret) {
		t.Fatalf("%s: the error tells the plaintext", step)
	}
}

func TestKMSEmulatorRoundTrip(t *testing.T) {
	emu, c, arns := emuKMS(t, "sealed")
	ctx := context.Background()
	for _, keyID := range []string{"alias/sealed", arns[0], arns[0][strings.LastIndex(arns[0], "/")+1:], "arn:aws:kms:us-east-1:123456789012:alias/sealed"} {
		k := sealed.KMS{Client: c, KeyID: keyID}
		ct, err := k.Encrypt(ctx, []byte(kmsSecret))
		if err != nil {
			t.Fatalf("Encrypt with %s: %v", keyID, err)
		}
		if strings.ContainsAny(ct, "\n\r ") || strings.Contains(ct, kmsSecret) {
			t.Fatalf("Encrypt with %s: the ciphertext is not one line of base64 hiding the plaintext", keyID)
		}
		got, err := k.Decrypt(ctx, ct)
		if err != nil || string(got) != kmsSecret {
			t.Fatalf("Decrypt with %s: %v (plaintext back: %v)", keyID, err, string(got) == kmsSecret)
		}
	}
	if emu.Calls("GenerateDataKey") != 4 || emu.Calls("Decrypt") != 4 {
		t.Fatalf("KMS calls: %d GenerateDataKey, %d Decrypt; want 4 each", emu.Calls("GenerateDataKey"), emu.Calls("Decrypt"))
	}
}

// TestKMSEmulatorEnvelopeFormat opens a ciphertext by the format of the
// shared spec, with KMS Decrypt on its blob: the envelope is what it
// says it is.
func TestKMSEmulatorEnvelopeFormat(t *testing.T) {
	_, c, arns := emuKMS(t, "sealed")
	ctx := context.Background()
	ct, err := sealed.KMS{Client: c, KeyID: "alias/sealed"}.Encrypt(ctx, []byte(kmsSecret))
	if err != nil {
		t.Fatal(err)
	}
	data, err := base64.StdEncoding.DecodeString(ct)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 7 || string(data[:4]) != "pkms" || data[4] != 0x01 {
		t.Fatalf("the ciphertext does not start with pkms 0x01")
	}
	n := int(binary.BigEndian.Uint16(data[5:7]))
	if len(data) < 7+n+12+16 {
		t.Fatalf("truncated envelope: %d bytes, blob of %d", len(data), n)
	}
	blob, nonce, sealedPart := data[7:7+n], data[7+n:7+n+12], data[7+n+12:]
	out, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: blob})
	if err != nil || aws.ToString(out.KeyId) != arns[0] || len(out.Plaintext) != 32 {
		t.Fatalf("KMS Decrypt of the envelope's blob: %v", err)
	}
	block, err := aes.NewCipher(out.Plaintext)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := gcm.Open(nil, nonce, sealedPart, nil)
	if err != nil || string(plain) != kmsSecret {
		t.Fatalf("AES-256-GCM under the data key: %v", err)
	}
}

func TestKMSEmulatorWrongKey(t *testing.T) {
	emu, c, _ := emuKMS(t, "a", "b")
	ctx := context.Background()
	ct, err := sealed.KMS{Client: c, KeyID: "alias/a"}.Encrypt(ctx, []byte(kmsSecret))
	if err != nil {
		t.Fatal(err)
	}

	// Configured for key b (after a rotation), a ciphertext of key a:
	// KMS says IncorrectKeyException for b, and key a, which the
	// blob names and this job may use, decrypts it.
	plain, err := sealed.KMS{Client: c, KeyID: "alias/b"}.Decrypt(ctx, ct)
	if err != nil || string(plain) != kmsSecret {
		t.Fatalf("decrypting key a's ciphertext configured for key b: %v", err)
	}
	// Unless the job may not use key a.
	emu.Deny("kms:Decrypt")
	_, err = sealed.KMS{Client: c, KeyID: "alias/b"}.Decrypt(ctx, ct)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("with kms:Decrypt denied: %v", err)
	}
	noSecret(t, "another key", err)
	emu.Deny("")

	// The blob of another KMS (another account, or a re-created
	// emulator): InvalidCiphertextException.
	_, other, _ := emuKMS(t, "a")
	_, err = sealed.KMS{Client: other, KeyID: ""}.Decrypt(ctx, ct)
	if !errors.Is(err, sealed.ErrWrongKey) || !strings.Contains(err.Error(), "InvalidCiphertextException") {
		t.Fatalf("decrypting with another KMS: %v, want ErrWrongKey telling InvalidCiphertextException", err)
	}
	noSecret(t, "another KMS", err)

	// Key a's data key with the AES-GCM part altered.
	data, _ := base64.StdEncoding.DecodeString(ct)
	data[len(data)-1] ^= 1
	_, err = sealed.KMS{Client: c, KeyID: "alias/a"}.Decrypt(ctx, base64.StdEncoding.EncodeToString(data))
	if !errors.Is(err, sealed.ErrWrongKey) {
		t.Fatalf("an altered ciphertext: %v, want ErrWrongKey", err)
	}
	// Its KMS blob altered.
	data, _ = base64.StdEncoding.DecodeString(ct)
	data[7+10] ^= 1
	_, err = sealed.KMS{Client: c, KeyID: "alias/a"}.Decrypt(ctx, base64.StdEncoding.EncodeToString(data))
	if !errors.Is(err, sealed.ErrWrongKey) {
		t.Fatalf("an altered data key blob: %v, want ErrWrongKey", err)
	}
	noSecret(t, "altered", err)
}

func TestKMSEmulatorKeyUnusable(t *testing.T) {
	emu, c, arns := emuKMS(t, "sealed")
	ctx := context.Background()
	k := sealed.KMS{Client: c, KeyID: "alias/sealed"}
	ct, err := k.Encrypt(ctx, []byte(kmsSecret))
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.SetKMSKeyEnabled("alias/sealed", false); err != nil {
		t.Fatal(err)
	}
	_, err = k.Decrypt(ctx, ct)
	if err == nil || errors.Is(err, sealed.ErrWrongKey) || errors.Is(err, sealed.ErrMalformed) ||
		!strings.Contains(err.Error(), "DisabledException") || !strings.Contains(err.Error(), arns[0]+" is disabled.") {
		t.Fatalf("Decrypt with a disabled key: %v, want KMS's DisabledException told as it is (not ErrWrongKey)", err)
	}
	noSecret(t, "disabled", err)
	_, err = k.Encrypt(ctx, []byte(kmsSecret))
	if err == nil || !strings.Contains(err.Error(), "DisabledException") || !strings.Contains(err.Error(), "alias/sealed") {
		t.Fatalf("Encrypt with a disabled key: %v, want DisabledException naming the key", err)
	}
	noSecret(t, "disabled encrypt", err)

	if err := emu.SetKMSKeyEnabled("alias/sealed", true); err != nil {
		t.Fatal(err)
	}
	emu.Deny("kms:Decrypt")
	_, err = k.Decrypt(ctx, ct)
	if err == nil || errors.Is(err, sealed.ErrWrongKey) || !strings.Contains(err.Error(), "AccessDeniedException") ||
		!strings.Contains(err.Error(), "kms:Decrypt on resource: "+arns[0]) {
		t.Fatalf("Decrypt denied: %v, want AccessDeniedException naming kms:Decrypt and the key", err)
	}
	emu.Deny("")
	if got, err := k.Decrypt(ctx, ct); err != nil || string(got) != kmsSecret {
		t.Fatalf("Decrypt once allowed again: %v", err)
	}
}
