package sealed

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
)

func testAge(t testing.TB) (identity, recipient string) {
	t.Helper()
	id, rec, err := GenerateAge()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "AGE-SECRET-KEY-1") || !strings.HasPrefix(rec, "age1") {
		t.Fatalf("GenerateAge made a %.16s... identity and a %.5s... recipient", id, rec)
	}
	return id, rec
}

func TestAgeRoundTripAndInterop(t *testing.T) {
	if _, err := exec.LookPath("age"); err == nil {
		t.Log("the age CLI is installed; this test checks interop through the age library's own parsing and armor")
	}
	ctx := context.Background()
	idText, recText := testAge(t)
	id2Text, rec2Text := testAge(t)
	recs, err := ParseAgeRecipients("# CI\n" + recText + ", " + rec2Text + " # operator\n\n")
	if err != nil || len(recs) != 2 {
		t.Fatalf("recipients: %d, %v", len(recs), err)
	}
	ids, err := ParseAgeIdentities("# created: 2026-01-01\n# public key: " + recText + "\n" + idText + "\n")
	if err != nil || len(ids) != 1 {
		t.Fatalf("identities: %d, %v", len(ids), err)
	}
	plain := []byte("multi\nline: secret ✓")
	ct, err := AgeKeys{Recipients: recs}.Encrypt(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(ct, "\n ") {
		t.Fatal("ciphertext is not one line")
	}
	// Each recipient's identity decrypts.
	for _, idt := range []string{idText, id2Text} {
		ids, _ := ParseAgeIdentities(idt)
		got, err := AgeKeys{Identities: ids}.Decrypt(ctx, ct)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("decrypt: %v", err)
		}
	}
	// The age library reads our ciphertext with an identity it parsed.
	libIDs, err := age.ParseIdentities(strings.NewReader(idText))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(ct)
	r, err := age.Decrypt(bytes.NewReader(raw), libIDs...)
	if err != nil {
		t.Fatalf("age.Decrypt of our ciphertext: %v", err)
	}
	if got, _ := io.ReadAll(r); !bytes.Equal(got, plain) {
		t.Fatal("age.Decrypt gave another plaintext")
	}
	// An armored file written by the age library, to a recipient it
	// parsed, decrypts; so does its base64.
	libRecs, err := age.ParseRecipients(strings.NewReader(recText))
	if err != nil {
		t.Fatal(err)
	}
	var armored, bin bytes.Buffer
	aw := armor.NewWriter(&armored)
	w, _ := age.Encrypt(io.MultiWriter(aw, &bin), libRecs...)
	w.Write([]byte("from the library"))
	w.Close()
	aw.Close()
	for name, in := range map[string]string{"armored": "\n" + armored.String(), "base64": base64.StdEncoding.EncodeToString(bin.Bytes())} {
		got, err := AgeKeys{Identities: ids}.Decrypt(ctx, in)
		if err != nil || string(got) != "from the library" {
			t.Fatalf("%s: %q, %v", name, got, err)
		}
	}
	// Recipients derive from identities.
	derived, err := AgeRecipientsOf(ids)
	if err != nil || len(derived) != 1 || derived[0].(*age.X25519Recipient).String() != recText {
		t.Fatalf("derived recipients: %v", err)
	}
	// Post-quantum hybrid keys work too.
	pq, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	pqRecs, err := ParseAgeRecipients(pq.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	pqIDs, err := ParseAgeIdentities(pq.String())
	if err != nil {
		t.Fatal(err)
	}
	pqCT, err := AgeKeys{Recipients: pqRecs}.Encrypt(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := (AgeKeys{Identities: pqIDs}).Decrypt(ctx, pqCT); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("hybrid: %v", err)
	}
	if _, err := (AgeKeys{}).Encrypt(ctx, plain); err == nil {
		t.Fatal("encrypt without recipients succeeded")
	}
	if _, err := (AgeKeys{}).Decrypt(ctx, ct); err == nil {
		t.Fatal("decrypt without identities succeeded")
	}
}

func TestAgeDecryptErrors(t *testing.T) {
	ctx := context.Background()
	const secret = "the-plaintext-value"
	idText, recText := testAge(t)
	otherID, _ := testAge(t)
	recs, _ := ParseAgeRecipients(recText)
	ids, _ := ParseAgeIdentities(idText)
	others, _ := ParseAgeIdentities(otherID)
	ct, err := AgeKeys{Recipients: recs}.Encrypt(ctx, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(ct)
	enc := base64.StdEncoding.EncodeToString
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-3] ^= 1
	hdrEnd := bytes.Index(raw, []byte("\n---")) + 1
	// Alter the header MAC's bytes, not its base64 text: flipping a bit of
	// the text can make an invalid base64 character (a malformed header)
	// rather than a wrong MAC.
	macStart := hdrEnd + len("--- ")
	macEnd := macStart + bytes.IndexByte(raw[macStart:], '\n')
	mac, err := base64.RawStdEncoding.Strict().DecodeString(string(raw[macStart:macEnd]))
	if err != nil {
		t.Fatalf("header MAC: %v", err)
	}
	mac[0] ^= 1
	macFlipped := append(append(bytes.Clone(raw[:macStart]), base64.RawStdEncoding.EncodeToString(mac)...), raw[macEnd:]...)
	for _, c := range []struct {
		name, ct string
		ids      []age.Identity
		want     error
		msg      string
	}{
		{"empty", " ", ids, ErrMalformed, "empty"},
		{"not base64", "@@@@@@@@", ids, ErrMalformed, "neither base64 nor an armored"},
		{"KEY_PAIR ciphertext", pipecdKnownAnswer, ids, ErrMalformed, "no age header"},
		{"another identity", ct, others, ErrWrongKey, "none of the 1 identities"},
		{"altered payload", enc(flipped), ids, ErrWrongKey, "authentication"},
		{"altered header MAC", enc(macFlipped), ids, ErrWrongKey, ""},
		{"truncated payload", enc(raw[:len(raw)-20]), ids, ErrWrongKey, "authentication"}, // a cut chunk fails to authenticate
		{"header only", enc(raw[:hdrEnd]), ids, ErrMalformed, "truncated"},
		{"cut header", enc(raw[:hdrEnd-10]), ids, ErrMalformed, "truncated"},
		{"bad header line", enc(append([]byte("age-encryption.org/v1\n-> X25519 \x01\n"), raw[hdrEnd:]...)), ids, ErrMalformed, "bad header"},
		{"bad armor", "-----BEGIN AGE ENCRYPTED FILE-----\n" + secret + "\n-----END AGE ENCRYPTED FILE-----", ids, ErrMalformed, ""},
		{"too large", strings.Repeat("A", MaxCiphertextSize+4), ids, ErrMalformed, "more than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := AgeKeys{Identities: c.ids}.Decrypt(ctx, c.ct)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if got != nil {
				t.Errorf("returned %d bytes with the error", len(got))
			}
			if msg := err.Error(); !strings.Contains(msg, c.msg) || !strings.Contains(msg, "AGE") || strings.Contains(msg, secret) {
				t.Errorf("error %q: want %q, the scheme, and no plaintext", msg, c.msg)
			}
		})
	}
}

func TestParseAgeKeysErrors(t *testing.T) {
	idText, recText := testAge(t)
	for _, c := range []struct {
		name, in, want string
		identity       bool
	}{
		{"no recipients", "# only a comment\n", "no age recipient", false},
		{"identity as recipient", recText + "\n" + idText, "line 2: an age identity", false},
		{"lower-case identity as recipient", strings.ToLower(idText), "an age identity", false},
		{"bad checksum", otherLast(recText), "malformed", false},
		{"ssh key", "ssh-ed25519 AAAA", "SSH keys", false},
		{"garbage", "hello", "not an age recipient", false},
		{"no identities", "\n\n", "no age identity", true},
		{"recipient as identity", recText, "an age recipient", true},
		{"bad identity checksum", otherLast(idText), "line 1: the age identity is malformed", true},
		{"plugin identity", "AGE-PLUGIN-YUBIKEY-1QQQ", "plugin", true},
		{"other text", "-----BEGIN PRIVATE KEY-----", "not an age identity", true},
	} {
		var err error
		if c.identity {
			_, err = ParseAgeIdentities(c.in)
		} else {
			_, err = ParseAgeRecipients(c.in)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
			continue
		}
		if strings.Contains(strings.ToUpper(err.Error()), idText[16:30]) {
			t.Errorf("%s: the error holds the identity", c.name)
		}
	}
}

// otherLast returns s with its last character replaced by another of the
// same bech32 case, which breaks its checksum (the same character would
// leave a valid key in one run of 32).
func otherLast(s string) string {
	last, repl := s[len(s)-1], byte('q')
	if last >= 'A' && last <= 'Z' {
		repl = 'Q'
	}
	if last == repl {
		repl-- // 'p' or 'P', also in the bech32 alphabet
	}
	return s[:len(s)-1] + string(repl)
}
