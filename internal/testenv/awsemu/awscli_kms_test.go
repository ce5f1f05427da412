package awsemu_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

// TestAWSCLIKMS drives KMS with Debian's AWS CLI and the Go SDK on one
// emulator: what one encrypts, the other decrypts.
func TestAWSCLIKMS(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		if os.Getenv("PIPE_REQUIRE_AWSCLI") == "1" {
			t.Fatalf("PIPE_REQUIRE_AWSCLI=1 but %s is missing (apt-get install awscli)", awsCLI)
		}
		t.Skipf("%s is missing (apt-get install awscli)", awsCLI)
	}
	clk := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	emu, srv := awsemu.Start(awsemu.Options{Now: clk.Now})
	defer srv.Close()
	dir := t.TempDir()
	c := &cli{t: t, url: srv.URL, dir: dir, home: t.TempDir()}
	sdk := kmsClient(srv.URL)
	ctx := context.Background()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b64 := func(step string, v any) []byte {
		t.Helper()
		s, _ := v.(string)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: not base64 bytes: %v", step, err)
		}
		return b
	}

	created := c.ok("kms", "create-key", "--description", "sealed secrets")
	id, arn := str(created, "KeyMetadata", "KeyId"), str(created, "KeyMetadata", "Arn")
	if arn != "arn:aws:kms:us-east-1:123456789012:key/"+id || str(created, "KeyMetadata", "KeyState") != "Enabled" ||
		str(created, "KeyMetadata", "KeySpec") != "SYMMETRIC_DEFAULT" || str(created, "KeyMetadata", "KeyUsage") != "ENCRYPT_DECRYPT" {
		t.Fatalf("create-key: %v", created)
	}
	c.ok("kms", "create-alias", "--alias-name", "alias/sealed", "--target-key-id", id)
	described := c.ok("kms", "describe-key", "--key-id", "alias/sealed")
	sd, err := sdk.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("arn:aws:kms:us-east-1:123456789012:alias/sealed")})
	if err != nil {
		t.Fatal(err)
	}
	if str(described, "KeyMetadata", "Arn") != aws.ToString(sd.KeyMetadata.Arn) || aws.ToString(sd.KeyMetadata.Arn) != arn ||
		str(described, "KeyMetadata", "Description") != aws.ToString(sd.KeyMetadata.Description) ||
		str(described, "KeyMetadata", "KeyState") != string(sd.KeyMetadata.KeyState) {
		t.Fatalf("describe-key: cli %v, sdk %+v", described, sd.KeyMetadata)
	}
	aliases := c.ok("kms", "list-aliases")
	sa, err := sdk.ListAliases(ctx, &kms.ListAliasesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if str(aliases, "Aliases", 0, "AliasName") != "alias/sealed" || str(aliases, "Aliases", 0, "TargetKeyId") != id ||
		len(sa.Aliases) != 1 || aws.ToString(sa.Aliases[0].AliasArn) != str(aliases, "Aliases", 0, "AliasArn") {
		t.Fatalf("list-aliases: cli %v, sdk %+v", aliases, sa.Aliases)
	}
	if keys := c.ok("kms", "list-keys"); str(keys, "Keys", 0, "KeyArn") != arn {
		t.Fatalf("list-keys: %v", keys)
	}

	// The CLI encrypts, the SDK decrypts.
	secret := []byte("db-password: hunter2\n")
	write("secret.txt", secret)
	enc := c.ok("kms", "encrypt", "--key-id", "alias/sealed", "--plaintext", "fileb://secret.txt", "--encryption-context", "app=web")
	if str(enc, "KeyId") != arn || str(enc, "EncryptionAlgorithm") != "SYMMETRIC_DEFAULT" {
		t.Fatalf("encrypt: %v", enc)
	}
	cliBlob := b64("encrypt", enc["CiphertextBlob"])
	if bytes.Contains(cliBlob, secret) {
		t.Fatal("encrypt: the blob holds the plaintext")
	}
	dec, err := sdk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: cliBlob, EncryptionContext: map[string]string{"app": "web"}})
	if err != nil || !bytes.Equal(dec.Plaintext, secret) || aws.ToString(dec.KeyId) != arn {
		t.Fatalf("the SDK decrypting the CLI's blob: %v (same plaintext %v)", err, dec != nil && bytes.Equal(dec.Plaintext, secret))
	}

	// The SDK encrypts, the CLI decrypts.
	sdkEnc, err := sdk.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: secret, EncryptionContext: map[string]string{"app": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	write("sdk.blob", sdkEnc.CiphertextBlob)
	got := c.ok("kms", "decrypt", "--ciphertext-blob", "fileb://sdk.blob", "--encryption-context", "app=web")
	if !bytes.Equal(b64("decrypt", got["Plaintext"]), secret) || str(got, "KeyId") != arn {
		t.Fatalf("the CLI decrypting the SDK's blob: KeyId %v, same plaintext %v", got["KeyId"], bytes.Equal(b64("decrypt", got["Plaintext"]), secret))
	}

	// Data keys: the CLI's decrypt through the SDK, and back.
	dk := c.ok("kms", "generate-data-key", "--key-id", "alias/sealed", "--key-spec", "AES_256", "--encryption-context", "app=web")
	dkPlain, dkBlob := b64("generate-data-key", dk["Plaintext"]), b64("generate-data-key", dk["CiphertextBlob"])
	if len(dkPlain) != 32 || str(dk, "KeyId") != arn {
		t.Fatalf("generate-data-key: %d-byte key, KeyId %v", len(dkPlain), dk["KeyId"])
	}
	if out, err := sdk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dkBlob, KeyId: aws.String(arn), EncryptionContext: map[string]string{"app": "web"}}); err != nil || !bytes.Equal(out.Plaintext, dkPlain) {
		t.Fatalf("the SDK decrypting generate-data-key's blob: %v", err)
	}
	sdk128, err := sdk.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: aws.String("alias/sealed"), KeySpec: kmstypes.DataKeySpecAes128})
	if err != nil {
		t.Fatal(err)
	}
	write("dk128.blob", sdk128.CiphertextBlob)
	if got := c.ok("kms", "decrypt", "--ciphertext-blob", "fileb://dk128.blob", "--key-id", "alias/sealed"); len(b64("decrypt", got["Plaintext"])) != 16 {
		t.Fatalf("decrypt of a 128-bit data key: %v", got["KeyId"])
	}
	wp := c.ok("kms", "generate-data-key-without-plaintext", "--key-id", id, "--number-of-bytes", "24")
	if _, ok := wp["Plaintext"]; ok {
		t.Fatal("generate-data-key-without-plaintext returned a plaintext")
	}
	if out, err := sdk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: b64("generate-data-key-without-plaintext", wp["CiphertextBlob"])}); err != nil || len(out.Plaintext) != 24 {
		t.Fatalf("the SDK decrypting generate-data-key-without-plaintext's blob: %v", err)
	}

	// ReEncrypt with the CLI onto a key the Go API made.
	otherARN, err := emu.CreateKMSKey("other")
	if err != nil {
		t.Fatal(err)
	}
	write("cli.blob", cliBlob)
	re := c.ok("kms", "re-encrypt", "--ciphertext-blob", "fileb://cli.blob", "--source-encryption-context", "app=web", "--destination-key-id", "alias/other")
	if str(re, "SourceKeyId") != arn || str(re, "KeyId") != otherARN {
		t.Fatalf("re-encrypt: %v", re)
	}
	if out, err := sdk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: b64("re-encrypt", re["CiphertextBlob"])}); err != nil || !bytes.Equal(out.Plaintext, secret) || aws.ToString(out.KeyId) != otherARN {
		t.Fatalf("the SDK decrypting re-encrypt's blob: %v", err)
	}

	// Errors, as KMS words them.
	c.fails("InvalidCiphertextException", "", "kms", "decrypt", "--ciphertext-blob", "fileb://cli.blob", "--encryption-context", "app=api")
	c.fails("InvalidCiphertextException", "", "kms", "decrypt", "--ciphertext-blob", "fileb://cli.blob")
	c.fails("IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.",
		"kms", "decrypt", "--ciphertext-blob", "fileb://cli.blob", "--encryption-context", "app=web", "--key-id", "alias/other")
	write("big.txt", make([]byte, 4097))
	c.fails("ValidationException", "Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
		"kms", "encrypt", "--key-id", id, "--plaintext", "fileb://big.txt")
	c.fails("NotFoundException", "Alias arn:aws:kms:us-east-1:123456789012:alias/missing is not found.", "kms", "describe-key", "--key-id", "alias/missing")
	c.fails("AlreadyExistsException", "An alias with the name arn:aws:kms:us-east-1:123456789012:alias/sealed already exists",
		"kms", "create-alias", "--alias-name", "alias/sealed", "--target-key-id", otherARN)
	c.fails("ValidationException", "Please specify either number of bytes or key spec.", "kms", "generate-data-key", "--key-id", id)

	emu.Deny("kms:Encrypt")
	c.fails("AccessDeniedException", "is not authorized to perform: kms:Encrypt on resource: "+arn,
		"kms", "encrypt", "--key-id", "alias/sealed", "--plaintext", "fileb://secret.txt")
	emu.Deny("")

	c.ok("kms", "disable-key", "--key-id", id)
	if st, _ := emu.KMSKeyState(id); st != "Disabled" {
		t.Fatalf("disable-key: the key is %s", st)
	}
	c.fails("DisabledException", arn+" is disabled.", "kms", "decrypt", "--ciphertext-blob", "fileb://cli.blob", "--encryption-context", "app=web")
	_, err = sdk.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: cliBlob, EncryptionContext: map[string]string{"app": "web"}})
	kmsErrorIs(t, "the SDK with a disabled key", err, "DisabledException", arn+" is disabled.")
	c.ok("kms", "enable-key", "--key-id", id)
	sched := c.ok("kms", "schedule-key-deletion", "--key-id", arn, "--pending-window-in-days", "7")
	if str(sched, "KeyState") != "PendingDeletion" || num(sched, "PendingWindowInDays") != 7 {
		t.Fatalf("schedule-key-deletion: %v", sched)
	}
	c.fails("KMSInvalidStateException", arn+" is pending deletion.", "kms", "encrypt", "--key-id", "alias/sealed", "--plaintext", "fileb://secret.txt")
	c.fails("ValidationException", "Value '3' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7",
		"kms", "schedule-key-deletion", "--key-id", otherARN, "--pending-window-in-days", "3")
	c.ok("kms", "cancel-key-deletion", "--key-id", id)
	if st, _ := emu.KMSKeyState("alias/sealed"); st != "Disabled" {
		t.Fatalf("cancel-key-deletion: the key is %s, want Disabled as KMS leaves it", st)
	}
}
