package awsemu_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/gitops-pipe/pipe/internal/testenv/awsemu"
)

func kmsClient(url string) *kms.Client {
	return kms.New(kms.Options{Region: awsemu.DefaultRegion, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(awsemu.AccessKeyID, awsemu.SecretAccessKey, "")})
}

// kmsErrorIs checks err is the API error code whose message contains
// message.
func kmsErrorIs(t *testing.T, step string, err error, code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), message) {
		t.Fatalf("%s: got %v, want %s %q", step, err, code, message)
	}
}

func TestKMSEnvelope(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	emu, srv := awsemu.Start(awsemu.Options{Now: clk.Now})
	defer srv.Close()
	c := kmsClient(srv.URL)
	ctx := context.Background()

	created, err := c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("sealed secrets"), KeySpec: kmstypes.KeySpecSymmetricDefault})
	if err != nil {
		t.Fatal(err)
	}
	md := created.KeyMetadata
	id := aws.ToString(md.KeyId)
	arn := "arn:aws:kms:us-east-1:123456789012:key/" + id
	if aws.ToString(md.Arn) != arn || md.KeyState != kmstypes.KeyStateEnabled || !md.Enabled || md.KeySpec != kmstypes.KeySpecSymmetricDefault ||
		md.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt || aws.ToString(md.AWSAccountId) != awsemu.AccountID || !md.CreationDate.Equal(clk.Now()) {
		t.Fatalf("CreateKey: %+v", md)
	}
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/pipe"), TargetKeyId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}

	// Every form of KeyId names the key.
	for _, ref := range []string{id, arn, "alias/pipe", "arn:aws:kms:us-east-1:123456789012:alias/pipe"} {
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
		if err != nil || aws.ToString(d.KeyMetadata.Arn) != arn || aws.ToString(d.KeyMetadata.Description) != "sealed secrets" {
			t.Fatalf("DescribeKey %s: %v %+v", ref, err, d)
		}
	}

	// Envelope: a data key, its blob decrypts back to it under its context.
	ec := map[string]string{"app": "web"}
	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/pipe"), KeySpec: kmstypes.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if len(dk.Plaintext) != 32 || aws.ToString(dk.KeyId) != arn || bytes.Contains(dk.CiphertextBlob, dk.Plaintext) {
		t.Fatalf("GenerateDataKey: %d-byte key, KeyId %s", len(dk.Plaintext), aws.ToString(dk.KeyId))
	}
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})
	if err != nil || !bytes.Equal(dec.Plaintext, dk.Plaintext) || aws.ToString(dec.KeyId) != arn || dec.EncryptionAlgorithm != kmstypes.EncryptionAlgorithmSpecSymmetricDefault {
		t.Fatalf("Decrypt of the data key: %v (same key %v)", err, dec != nil && bytes.Equal(dec.Plaintext, dk.Plaintext))
	}
	for _, n := range []struct {
		in   *kms.GenerateDataKeyInput
		size int
	}{{&kms.GenerateDataKeyInput{KeySpec: kmstypes.DataKeySpecAes128}, 16}, {&kms.GenerateDataKeyInput{NumberOfBytes: aws.Int32(7)}, 7}} {
		n.in.KeyId = aws.String(id)
		out, err := c.GenerateDataKey(ctx, n.in)
		if err != nil || len(out.Plaintext) != n.size {
			t.Fatalf("GenerateDataKey %d bytes: %v", n.size, err)
		}
	}
	wp, err := c.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: aws.String(id), KeySpec: kmstypes.DataKeySpecAes256})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: wp.CiphertextBlob, KeyId: aws.String("alias/pipe")}); err != nil || len(out.Plaintext) != 32 {
		t.Fatalf("Decrypt of GenerateDataKeyWithoutPlaintext's blob: %v", err)
	}

	// A wrong or missing context, an altered blob: InvalidCiphertextException.
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: map[string]string{"app": "api"}})
	kmsErrorIs(t, "wrong context", err, "InvalidCiphertextException", "")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob})
	kmsErrorIs(t, "no context", err, "InvalidCiphertextException", "")
	altered := bytes.Clone(dk.CiphertextBlob)
	altered[len(altered)-1] ^= 1
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: altered, EncryptionContext: ec})
	kmsErrorIs(t, "altered blob", err, "InvalidCiphertextException", "")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("not a blob")})
	kmsErrorIs(t, "garbage", err, "InvalidCiphertextException", "")

	// Another key: IncorrectKeyException when named, ReEncrypt moves a blob.
	otherARN, err := emu.CreateKMSKey("other")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec, KeyId: aws.String("alias/other")})
	kmsErrorIs(t, "Decrypt with another key", err, "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: dk.CiphertextBlob, SourceEncryptionContext: ec, DestinationKeyId: aws.String(otherARN)})
	if err != nil || aws.ToString(re.SourceKeyId) != arn || aws.ToString(re.KeyId) != otherARN {
		t.Fatalf("ReEncrypt: %v", err)
	}
	if out, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, KeyId: aws.String("alias/other")}); err != nil || !bytes.Equal(out.Plaintext, dk.Plaintext) {
		t.Fatalf("Decrypt after ReEncrypt: %v", err)
	}
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: dk.CiphertextBlob, SourceEncryptionContext: ec, SourceKeyId: aws.String(otherARN), DestinationKeyId: aws.String(id)})
	kmsErrorIs(t, "ReEncrypt with another source key", err, "IncorrectKeyException", "does not identify a CMK")

	// Encrypt's limit, KeyId errors.
	if _, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: make([]byte, 4096)}); err != nil {
		t.Fatalf("Encrypt of 4096 bytes: %v", err)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: make([]byte, 4097)})
	kmsErrorIs(t, "Encrypt of 4097 bytes", err, "ValidationException", "Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/missing"), Plaintext: []byte("x")})
	kmsErrorIs(t, "missing alias", err, "NotFoundException", "Alias arn:aws:kms:us-east-1:123456789012:alias/missing is not found.")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("11111111-2222-3333-4444-555555555555"), Plaintext: []byte("x")})
	kmsErrorIs(t, "missing key", err, "NotFoundException", "Key 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555' does not exist")
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("arn:aws:kms:eu-west-1:123456789012:key/" + id), Plaintext: []byte("x")})
	kmsErrorIs(t, "another region's ARN", err, "NotFoundException", "Invalid arn")
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(id)})
	kmsErrorIs(t, "GenerateDataKey without a size", err, "ValidationException", "Please specify either number of bytes or key spec.")

	// Disabled, then pending deletion: refused; the deletion happens.
	if _, err := c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})
	kmsErrorIs(t, "Decrypt with a disabled key", err, "DisabledException", arn+" is disabled.")
	_, err = c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String("alias/pipe"), KeySpec: kmstypes.DataKeySpecAes256})
	kmsErrorIs(t, "GenerateDataKey with a disabled key", err, "DisabledException", arn+" is disabled.")
	if _, err := c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	sched, err := c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)})
	if err != nil || sched.KeyState != kmstypes.KeyStatePendingDeletion || !sched.DeletionDate.Equal(clk.Now().Add(7*24*time.Hour)) {
		t.Fatalf("ScheduleKeyDeletion: %v %+v", err, sched)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})
	kmsErrorIs(t, "Decrypt with a key pending deletion", err, "KMSInvalidStateException", arn+" is pending deletion.")
	_, err = c.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)})
	kmsErrorIs(t, "EnableKey of a key pending deletion", err, "KMSInvalidStateException", "is pending deletion.")
	clk.Advance(7 * 24 * time.Hour)
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	kmsErrorIs(t, "a deleted key", err, "NotFoundException", "does not exist")
	keys, err := c.ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil || len(keys.Keys) != 1 || aws.ToString(keys.Keys[0].KeyArn) != otherARN {
		t.Fatalf("ListKeys after the deletion: %v %+v", err, keys)
	}
	aliases, err := c.ListAliases(ctx, &kms.ListAliasesInput{})
	if err != nil || len(aliases.Aliases) != 1 || aws.ToString(aliases.Aliases[0].AliasName) != "alias/other" {
		t.Fatalf("ListAliases after the deletion (its aliases go with the key): %v %+v", err, aliases)
	}

	// Deny: AccessDeniedException naming the key.
	emu.Deny("kms:Decrypt")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, KeyId: aws.String("alias/other")})
	kmsErrorIs(t, "denied", err, "AccessDeniedException",
		"User: arn:aws:iam::123456789012:user/pipe-emulator is not authorized to perform: kms:Decrypt on resource: "+otherARN)
	emu.Deny("")
	if emu.Calls("Decrypt") == 0 {
		t.Fatal("the request log has no Decrypt")
	}
}

func TestKMSPagesAndAliases(t *testing.T) {
	emu, srv := awsemu.Start(awsemu.Options{})
	defer srv.Close()
	c := kmsClient(srv.URL)
	ctx := context.Background()
	var arns []string
	for range 5 {
		arn, err := emu.CreateKMSKey("")
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, arn)
	}
	var got []string
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{Limit: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range out.Keys {
			got = append(got, aws.ToString(k.KeyArn))
		}
	}
	if strings.Join(got, ",") != strings.Join(arns, ",") {
		t.Fatalf("ListKeys pages: %v, want %v", got, arns)
	}

	for _, tc := range []struct{ name, target, code, message string }{
		{"pipe", arns[0], "ValidationException", `Alias must start with the prefix "alias/"`},
		{"alias/aws/s3", arns[0], "NotAuthorizedException", "alias/aws/"},
		{"alias/bad name", arns[0], "ValidationException", "regular expression pattern"},
		{"alias/x", "alias/y", "ValidationException", "Aliases must refer to keys. Not aliases"},
		{"alias/x", "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000", "NotFoundException", "does not exist"},
	} {
		_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(tc.name), TargetKeyId: aws.String(tc.target)})
		kmsErrorIs(t, "CreateAlias "+tc.name, err, tc.code, tc.message)
	}
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: aws.String(arns[1])}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: aws.String(arns[2])})
	kmsErrorIs(t, "CreateAlias twice", err, "AlreadyExistsException", "An alias with the name arn:aws:kms:us-east-1:123456789012:alias/app already exists")
	if _, err := c.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: aws.String(arns[2])}); err != nil {
		t.Fatal(err)
	}
	la, err := c.ListAliases(ctx, &kms.ListAliasesInput{KeyId: aws.String(arns[2])})
	if err != nil || len(la.Aliases) != 1 || !strings.HasSuffix(arns[2], aws.ToString(la.Aliases[0].TargetKeyId)) ||
		aws.ToString(la.Aliases[0].AliasArn) != "arn:aws:kms:us-east-1:123456789012:alias/app" {
		t.Fatalf("ListAliases of a key: %v %+v", err, la)
	}
	if _, err := c.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String("alias/app")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/app")})
	kmsErrorIs(t, "a deleted alias", err, "NotFoundException", "is not found.")
	_, err = c.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String("alias/app")})
	kmsErrorIs(t, "DisableKey by alias", err, "NotFoundException", "Invalid keyId")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	kmsErrorIs(t, "an RSA key", err, "UnsupportedOperationException", "SYMMETRIC_DEFAULT keys only")
}

// TestKMSWire checks what the SDKs do not show: the error body's shape
// and status, and an unknown operation.
func TestKMSWire(t *testing.T) {
	_, srv := awsemu.Start(awsemu.Options{})
	defer srv.Close()
	post := func(target, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+awsemu.AccessKeyID+"/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, strings.TrimSpace(b.String())
	}
	for _, tc := range []struct{ target, body, want string }{
		{"TrentService.Decrypt", `{"CiphertextBlob":"AAAA"}`, `{"__type":"InvalidCiphertextException"}`},
		{"TrentService.Encrypt", `{"KeyId":"alias/x"}`, `{"__type":"ValidationException","message":"1 validation error detected: Value null at 'plaintext' failed to satisfy constraint: Member must not be null"}`},
		{"TrentService.Encrypt", `{"KeyId":"alias/x","Plaintext":"%%%"}`, `"__type":"SerializationException"`},
		{"TrentService.Sign", `{}`, `{"__type":"UnknownOperationException","message":"Operation is not supported: TrentService.Sign"}`},
		{"TrentService.DescribeKey", `{"KeyId":"nope"}`, `{"__type":"NotFoundException","message":"Invalid keyId nope"}`},
	} {
		status, body := post(tc.target, tc.body)
		if status != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s, want 400 %s", tc.target, tc.body, status, body, tc.want)
		}
	}
}
