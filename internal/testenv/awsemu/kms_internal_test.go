package awsemu

import (
	"errors"
	"net/http"
	"testing"
)

// A failure of the emulator itself is KMS's KMSInternalException (it
// called itself for ever once).
func TestKMSInternalError(t *testing.T) {
	e := kmsInternal(errors.New("no randomness"))
	if e.status != http.StatusInternalServerError || e.code != "KMSInternalException" || e.message != "no randomness" {
		t.Fatalf("kmsInternal = %+v", e)
	}
}
