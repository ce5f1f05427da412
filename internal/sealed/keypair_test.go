package sealed

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// pipecdKnownAnswer was encrypted by PipeCD's own HybridEncrypter
// (pkg/crypto/hybrid.go, see testdata/pipecd/README.md) with PipeCD's test
// public key.
const (
	pipecdKnownAnswer = "AQCIqtKdWlXKRpg6QF9DPJ8LHR85LXFVGyg2Q9v57VbaCyF0M4PUPxmSPWQyL6F0/gYdewAfZ/KQnkBqSN1EJ24S3Cp5NF0py5wEtNBUm6FN3wDeDJbZQen9Y2cgQc7e42eAGAduTu3Bmd7NeydAiga6A/3+lQaExQHf6JZfYiZqrXS0+ULiMxTmbjDcdCYXthc/QsXUb4LVi44RTN0J3LUW/RL0ssPOaVfypyqxoFvotyOQytkqKVUndJS37NNTrlkgvnAOftey1o6AJj8qvdSOxnHybQZ40Zz0UsUi6sfD1ahmjbObFRBVnilPvVeuWBIi2HZDB1PStVicEZxHz158vI/vm7Dr15B5GDfCjicsXtUJsI+5+sgOE3xrAyBYD0DawQOgc+hLI/xBJ9v2NokGo/U="
	pipecdKnownPlain  = "pipecd-hybrid known answer: s3cr3t"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pipecdKeys(t testing.TB) RSAKeyPair {
	t.Helper()
	priv, err := ParseRSAPrivateKey(readTestdata(t, "pipecd/private-rsa.pem"))
	if err != nil {
		t.Fatalf("PipeCD's private key: %v", err)
	}
	pub, err := ParseRSAPublicKey(readTestdata(t, "pipecd/public-rsa.pem"))
	if err != nil {
		t.Fatalf("PipeCD's public key: %v", err)
	}
	return RSAKeyPair{Public: pub, Private: priv}
}

var (
	testRSAOnce sync.Once
	testRSAPriv []byte
	testRSAPub  []byte
)

// testRSA is one 2048-bit key pair for the package's tests (generating
// one takes a while).
func testRSA(t testing.TB) (privPEM, pubPEM []byte) {
	t.Helper()
	testRSAOnce.Do(func() {
		var err error
		testRSAPriv, testRSAPub, err = GenerateRSA(2048)
		if err != nil {
			panic(err)
		}
	})
	return testRSAPriv, testRSAPub
}

func testKeyPair(t testing.TB) RSAKeyPair {
	t.Helper()
	privPEM, pubPEM := testRSA(t)
	priv, err := ParseRSAPrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParseRSAPublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	return RSAKeyPair{Public: pub, Private: priv}
}

func TestKeyPairDecryptsPipeCDCiphertext(t *testing.T) {
	k := pipecdKeys(t)
	got, err := k.Decrypt(context.Background(), pipecdKnownAnswer)
	if err != nil {
		t.Fatalf("decrypt PipeCD's ciphertext: %v", err)
	}
	if string(got) != pipecdKnownPlain {
		t.Fatalf("PipeCD's ciphertext decrypted to %d bytes that differ from the known plaintext", len(got))
	}
	// The same, with the key given the way PipeCD's privateKeyData is
	// (base64 of the PEM), and the ciphertext folded over lines as in a
	// YAML block scalar.
	priv, err := ParseRSAPrivateKey([]byte(base64.StdEncoding.EncodeToString(readTestdata(t, "pipecd/private-rsa.pem")) + "\n"))
	if err != nil {
		t.Fatalf("base64 PEM: %v", err)
	}
	folded := pipecdKnownAnswer[:100] + "\n  " + pipecdKnownAnswer[100:]
	if got, err := (RSAKeyPair{Private: priv}).Decrypt(context.Background(), folded); err != nil || string(got) != pipecdKnownPlain {
		t.Fatalf("folded ciphertext with a base64 key: err %v", err)
	}
}

func TestKeyPairRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, k := range []RSAKeyPair{pipecdKeys(t), testKeyPair(t)} {
		for _, plain := range [][]byte{nil, []byte("x"), []byte("multi\nline\nsecret: ✓\n"), bytes.Repeat([]byte{0, 1, 2, 255}, 10000)} {
			ct, err := k.Encrypt(ctx, plain)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(ct, "\n\r \t") {
				t.Fatal("ciphertext is not one line")
			}
			got, err := k.Decrypt(ctx, ct)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("round trip of %d bytes gave %d other bytes", len(plain), len(got))
			}
		}
	}
	// The public half of the private key encrypts when Public is nil.
	k := testKeyPair(t)
	ct, err := RSAKeyPair{Private: k.Private}.Encrypt(ctx, []byte("derived"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Decrypt(ctx, ct); err != nil || string(got) != "derived" {
		t.Fatalf("derived public key: %q, %v", got, err)
	}
	if _, err := (RSAKeyPair{}).Encrypt(ctx, []byte("x")); err == nil {
		t.Fatal("encrypt without a key succeeded")
	}
	if _, err := (RSAKeyPair{Public: k.Public}).Decrypt(ctx, ct); err == nil || !strings.Contains(err.Error(), "no private key") {
		t.Fatalf("decrypt without a private key: %v", err)
	}
	if _, err := k.Encrypt(ctx, make([]byte, MaxPlaintextSize+1)); err == nil {
		t.Fatal("an oversized secret was encrypted")
	}
}

func TestKeyPairDecryptErrors(t *testing.T) {
	ctx := context.Background()
	const secret = "the-plaintext-value"
	k := testKeyPair(t)
	ct, err := k.Encrypt(ctx, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(ct)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.StdEncoding.EncodeToString(b)
	}
	other := pipecdKeys(t) // also 2048 bits: the OAEP unwrap fails
	otherSize, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, ct string
		key      RSAKeyPair
		want     error
		msg      string
	}{
		{"empty", "", k, ErrMalformed, "empty"},
		{"not base64", "@@@@@@@@@@@!", k, ErrMalformed, "not base64"},
		{"one byte", base64.StdEncoding.EncodeToString([]byte{1}), k, ErrMalformed, "truncated"},
		{"zero RSA length", base64.StdEncoding.EncodeToString([]byte{0, 0, 1, 2}), k, ErrMalformed, "no RSA part"},
		{"truncated RSA part", base64.StdEncoding.EncodeToString(raw[:100]), k, ErrMalformed, "truncated"},
		{"no GCM tag", base64.StdEncoding.EncodeToString(raw[:2+256+5]), k, ErrMalformed, "tag"},
		{"another key", ct, other, ErrWrongKey, "cannot decrypt its AES key"},
		{"another key size", ct, RSAKeyPair{Private: otherSize}, ErrWrongKey, "2048-bit RSA key, this private key has 3072"},
		{"altered RSA part", flip(10), k, ErrWrongKey, ""},
		{"altered AES part", flip(len(raw) - 20), k, ErrWrongKey, "authentication"},
		{"altered tag", flip(len(raw) - 1), k, ErrWrongKey, "authentication"},
		{"too large", strings.Repeat("A", MaxCiphertextSize+4), k, ErrMalformed, "more than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.key.Decrypt(ctx, c.ct)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if got != nil {
				t.Errorf("returned %d bytes with the error", len(got))
			}
			msg := err.Error()
			if !strings.Contains(msg, c.msg) || !strings.Contains(msg, "KEY_PAIR") {
				t.Errorf("error %q does not say %q", msg, c.msg)
			}
			if strings.Contains(msg, secret) || (len(c.ct) > 8 && strings.Contains(msg, c.ct[:8])) {
				t.Errorf("error %q holds the plaintext or the ciphertext", msg)
			}
		})
	}
}

func TestParseRSAKeys(t *testing.T) {
	privPEM, pubPEM := testRSA(t)
	key, err := ParseRSAPrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pkcs1Pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	b64 := func(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) }
	// A PEM after other blocks (e.g. EC parameters) and with CRLF lines.
	withParams := append([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), bytes.ReplaceAll(pkcs1, []byte("\n"), []byte("\r\n"))...)
	for name, in := range map[string][]byte{"PKCS#8": privPEM, "PKCS#1": pkcs1, "base64 PKCS#8": b64(privPEM), "base64 PKCS#1 wrapped": []byte(wrap(string(b64(pkcs1)), 64)), "after another block, CRLF": withParams, "surrounding space": append(append([]byte("\n  "), privPEM...), "\n\n"...)} {
		got, err := ParseRSAPrivateKey(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !got.Equal(key) {
			t.Errorf("%s: another key", name)
		}
	}
	for name, in := range map[string][]byte{"PKIX": pubPEM, "PKCS#1": pkcs1Pub, "base64 PKIX": b64(pubPEM)} {
		got, err := ParseRSAPublicKey(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !got.Equal(&key.PublicKey) {
			t.Errorf("%s: another key", name)
		}
	}

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPubDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	body := strings.Split(string(privPEM), "\n")[1] // a line of key material
	encrypted := []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + body + "\n-----END ENCRYPTED PRIVATE KEY-----\n")
	badDER := []byte("-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\n")
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", []byte("  \n"), "empty"},
		{"garbage", []byte("hello world"), "neither PEM"},
		{"base64 of garbage", b64([]byte("hello world")), "not of a PEM"},
		{"unterminated", privPEM[:len(privPEM)/2], "not valid PEM"},
		{"public key", pubPEM, "not a private key"},
		{"EC key", ecPEM, "ECDSA key; KEY_PAIR needs an RSA key"},
		{"encrypted", encrypted, "passphrase"},
		{"bad DER", badDER, "PKCS#8 PEM) does not parse"},
		{"openssh", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n" + body + "\n-----END OPENSSH PRIVATE KEY-----\n"), "ssh-keygen"},
	} {
		_, err := ParseRSAPrivateKey(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("private %s: err %v, want %q", c.name, err, c.want)
		} else if strings.Contains(err.Error(), body[:20]) {
			t.Errorf("private %s: the error holds key material", c.name)
		}
	}
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"private key", privPEM, "a private key was given"},
		{"base64 private key", b64(pkcs1), "a private key was given"},
		{"EC key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecPubDER}), "ECDSA key"},
		{"certificate request", []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), "found CERTIFICATE REQUEST"},
	} {
		_, err := ParseRSAPublicKey(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("public %s: err %v, want %q", c.name, err, c.want)
		} else if strings.Contains(err.Error(), body[:20]) {
			t.Errorf("public %s: the error holds key material", c.name)
		}
	}
}

func TestGenerateRSA(t *testing.T) {
	if _, _, err := GenerateRSA(1024); err == nil || !strings.Contains(err.Error(), "at least 2048") {
		t.Fatalf("1024 bits: %v", err)
	}
	privPEM, pubPEM := testRSA(t)
	if !bytes.HasPrefix(privPEM, []byte("-----BEGIN PRIVATE KEY-----\n")) || !bytes.HasPrefix(pubPEM, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Fatal("GenerateRSA's PEM is not PKCS#8 / PKIX")
	}
	priv, _ := ParseRSAPrivateKey(privPEM)
	pub, _ := ParseRSAPublicKey(pubPEM)
	if priv.N.BitLen() != 2048 || !pub.Equal(&priv.PublicKey) {
		t.Fatalf("a %d-bit key whose public half differs", priv.N.BitLen())
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func needOpenSSL(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	return p
}

func runOpenSSL(t *testing.T, openssl string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(openssl, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// openssl generates the key, unwraps the AES key of our ciphertext, and
// the test decrypts the AES-GCM part with crypto/cipher on its own.
func TestKeyPairOpenSSLDecryptsOurs(t *testing.T) {
	openssl := needOpenSSL(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	runOpenSSL(t, openssl, nil, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyFile)
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ParseRSAPrivateKey(keyPEM)
	if err != nil {
		t.Fatalf("openssl genpkey's key: %v", err)
	}
	pubPEM := runOpenSSL(t, openssl, nil, "pkey", "-in", keyFile, "-pubout")
	pub, err := ParseRSAPublicKey(pubPEM)
	if err != nil || !pub.Equal(&priv.PublicKey) {
		t.Fatalf("openssl pkey -pubout's key: %v", err)
	}
	// openssl's traditional (PKCS#1) form parses too.
	if k, err := ParseRSAPrivateKey(runOpenSSL(t, openssl, nil, "pkey", "-in", keyFile, "-traditional")); err != nil || !k.Equal(priv) {
		t.Fatalf("openssl pkey -traditional's key: %v", err)
	}

	plain := []byte("apiVersion: v1\nkind: Secret\nstringData:\n  password: hunter2\n")
	ct, err := RSAKeyPair{Public: pub}.Encrypt(context.Background(), plain)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(ct)
	if err != nil {
		t.Fatal(err)
	}
	n := int(binary.BigEndian.Uint16(raw))
	if n != 256 || len(raw) != 2+n+len(plain)+16 {
		t.Fatalf("layout: RSA part %d bytes, total %d", n, len(raw))
	}
	aesKey := runOpenSSL(t, openssl, raw[2:2+n], "pkeyutl", "-decrypt", "-inkey", keyFile,
		"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256")
	if len(aesKey) != 32 {
		t.Fatalf("openssl unwrapped a %d-byte key, want 32", len(aesKey))
	}
	gcm, err := newGCMForTest(aesKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := gcm.Open(nil, make([]byte, 12), raw[2+n:], nil)
	if err != nil {
		t.Fatalf("AES-GCM with the zero nonce: %v", err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatal("the independently decrypted plaintext differs")
	}
}

// The test builds PipeCD's format by hand around an AES key that openssl
// wraps; ours decrypts it.
func TestKeyPairDecryptsOpenSSLWrapped(t *testing.T) {
	openssl := needOpenSSL(t)
	dir := t.TempDir()
	privPEM, pubPEM := testRSA(t)
	pubFile := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pubFile, pubPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	aesKey := make([]byte, 32)
	if _, err := rand.Read(aesKey); err != nil {
		t.Fatal(err)
	}
	wrapped := runOpenSSL(t, openssl, aesKey, "pkeyutl", "-encrypt", "-pubin", "-inkey", pubFile,
		"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256")
	gcm, err := newGCMForTest(aesKey)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("wrapped by openssl")
	raw := binary.BigEndian.AppendUint16(nil, uint16(len(wrapped)))
	raw = append(raw, wrapped...)
	raw = gcm.Seal(raw, make([]byte, 12), plain, nil)

	priv, err := ParseRSAPrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RSAKeyPair{Private: priv}.Decrypt(context.Background(), base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatal("decrypted plaintext differs")
	}
	// SHA-1 OAEP (openssl's default) is another scheme: refused as a
	// wrong key, not misread.
	wrapped1 := runOpenSSL(t, openssl, aesKey, "pkeyutl", "-encrypt", "-pubin", "-inkey", pubFile, "-pkeyopt", "rsa_padding_mode:oaep")
	raw1 := append(binary.BigEndian.AppendUint16(nil, uint16(len(wrapped1))), wrapped1...)
	raw1 = gcm.Seal(raw1, make([]byte, 12), plain, nil)
	if _, err := (RSAKeyPair{Private: priv}).Decrypt(context.Background(), base64.StdEncoding.EncodeToString(raw1)); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("SHA-1 OAEP: %v", err)
	}
}

// newGCMForTest is AES-GCM straight from the standard library, not the
// package's code.
func newGCMForTest(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func TestRSAKeyRingDecryptsWithPreviousKeys(t *testing.T) {
	ctx := context.Background()
	oldPEM, _, err := GenerateRSA(2048)
	if err != nil {
		t.Fatal(err)
	}
	newPEM, _, err := GenerateRSA(2048)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParseRSAPrivateKeys(append(append([]byte{}, newPEM...), oldPEM...))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("%d keys, want 2", len(keys))
	}
	ring := RSAKeyPair{Private: keys[0], Previous: keys[1:]}
	oldCT, err := RSAKeyPair{Public: &keys[1].PublicKey}.Encrypt(ctx, []byte("before rotation"))
	if err != nil {
		t.Fatal(err)
	}
	newCT, err := ring.Encrypt(ctx, []byte("after rotation"))
	if err != nil {
		t.Fatal(err)
	}
	for ct, want := range map[string]string{oldCT: "before rotation", newCT: "after rotation"} {
		got, err := ring.Decrypt(ctx, ct)
		if err != nil || string(got) != want {
			t.Errorf("Decrypt = %q, %v; want %q", got, err, want)
		}
	}
	// The new key alone does not decrypt the old ciphertext.
	if _, err := (RSAKeyPair{Private: keys[0]}).Decrypt(ctx, oldCT); !errors.Is(err, ErrWrongKey) {
		t.Errorf("err = %v, want ErrWrongKey", err)
	}
	// A nil previous key fails as a missing key does, without a panic.
	if _, err := (RSAKeyPair{Private: keys[0], Previous: []*rsa.PrivateKey{nil}}).Decrypt(ctx, oldCT); err == nil || !strings.Contains(err.Error(), "no private key") {
		t.Errorf("err = %v, want no private key", err)
	}
	// A broken second key is named by its place.
	if _, err := ParseRSAPrivateKeys(append(append([]byte{}, newPEM...), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")...)); err == nil || !strings.Contains(err.Error(), "key 2 of 2") {
		t.Errorf("err = %v, want it to name key 2 of 2", err)
	}
}
