package sealed

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// checkFuzzError: a decoder fails with one of the sentinels (the fake
// KMS's own refusals included), and its error never holds the input.
func checkFuzzError(t *testing.T, in string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWrongKey) {
		t.Fatalf("error %q wraps neither ErrMalformed nor ErrWrongKey", err)
	}
	if s := strings.TrimSpace(in); len(s) >= 8 && strings.Contains(err.Error(), s) {
		t.Fatalf("error %q holds the input", err)
	}
}

func FuzzDecryptKeyPair(f *testing.F) {
	f.Add(pipecdKnownAnswer)
	f.Add("AQA=")
	f.Add("AAAA")
	f.Add("")
	k := pipecdKeys(f)
	ct, err := k.Encrypt(context.Background(), []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := k.Decrypt(context.Background(), in)
		checkFuzzError(t, in, err)
		if err == nil && in != pipecdKnownAnswer && string(got) != "seed" {
			// Forging a ciphertext for a key needs only its public half, so
			// success is possible; it must then round-trip.
			again, err := k.Encrypt(context.Background(), got)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := k.Decrypt(context.Background(), again); err != nil || string(back) != string(got) {
				t.Fatal("a decrypted plaintext does not round-trip")
			}
		}
	})
}

func FuzzDecryptAge(f *testing.F) {
	idText, recText, err := GenerateAge()
	if err != nil {
		f.Fatal(err)
	}
	ids, _ := ParseAgeIdentities(idText)
	recs, _ := ParseAgeRecipients(recText)
	k := AgeKeys{Recipients: recs, Identities: ids}
	ct, err := k.Encrypt(context.Background(), []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct)
	f.Add("YWdlLWVuY3J5cHRpb24ub3JnL3YxCg==")
	f.Add("-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		_, err := k.Decrypt(context.Background(), in)
		checkFuzzError(t, in, err)
	})
}

func FuzzDecryptKMS(f *testing.F) {
	fake := newFakeKMS("key-a")
	k := KMS{Client: fake, KeyID: "key-a"}
	ct, err := k.Encrypt(context.Background(), []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct)
	f.Add("cGttcwEAAQA=")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		fake.calls = nil
		_, err := k.Decrypt(context.Background(), in)
		checkFuzzError(t, in, err)
	})
}
