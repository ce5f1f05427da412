package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhook headers. A webhook receiver POSTs the Event as JSON with:
//
//   - when signatureKey is configured, that header (PipeCD's is
//     "PipeCD-Signature") holding the static signatureValue, as PipeCD
//     sends it, for receivers written for PipeCD; whoever sees one such
//     request can forge others, so it is sent only when asked for;
//   - Pipe-Timestamp: the Unix time of the request, in seconds;
//   - Pipe-Signature: "t=<the timestamp>,v1=<hex HMAC-SHA256>" where the HMAC
//     is keyed by signatureValue over "<the timestamp>.<the body>".
//
// To verify a request, a receiver recomputes the HMAC over the timestamp and
// the exact body bytes, compares it in constant time, and rejects a
// timestamp too far from its own clock (a replay of a captured request):
// Verify does this. The Pipe-* headers are sent only when a
// signatureValue is configured. A retried request is signed again with a
// new timestamp.
const (
	SignatureHeader      = "Pipe-Signature"
	TimestampHeader      = "Pipe-Timestamp"
	DefaultSignatureKey  = "PipeCD-Signature"
	DefaultWebhookMaxAge = 5 * time.Minute
)

// Verification errors.
var (
	ErrNoSignature  = errors.New("no valid Pipe-Signature header")
	ErrBadSignature = errors.New("signature does not match")
	ErrStale        = errors.New("signature timestamp outside the tolerance (a replay?)")
)

// Sign returns the Pipe-Signature header value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a Pipe-Signature header against the request body, as a
// webhook receiver does:
//
//	body, _ := io.ReadAll(r.Body)
//	if err := notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
//		http.Error(w, err.Error(), http.StatusUnauthorized)
//		return
//	}
//
// It returns ErrNoSignature for a missing or malformed header,
// ErrBadSignature when no v1 signature matches (several v1 entries are
// accepted, for rotating the secret), and ErrStale when the timestamp is
// more than tolerance away from now (a receiver also remembering the
// signatures it saw within the tolerance rejects every replay).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to verify with", ErrBadSignature)
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}

// webhookSender POSTs events as JSON.
type webhookSender struct {
	name      string
	url       string
	key       string
	value     []byte
	client    *http.Client
	now       func() time.Time
	userAgent string
	mask      func([]byte) []byte
}

func (w *webhookSender) receiverName() string { return w.name }

func (w *webhookSender) send(ctx context.Context, j *job) error {
	body, err := json.Marshal(j.ev)
	if err != nil {
		return permanent(fmt.Errorf("encode the event: %w", err))
	}
	if w.mask != nil {
		body = w.mask(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return permanent(errors.New("invalid URL"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.userAgent)
	if len(w.value) > 0 {
		now := w.now()
		if w.key != "" {
			req.Header.Set(w.key, string(w.value))
		}
		req.Header.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(SignatureHeader, Sign(w.value, now, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		// Drop the URL (it may be a secret, from urlEnv).
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s: %w", ue.Op, ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusTooManyRequests || c == http.StatusServiceUnavailable:
		return &statusError{code: c, retry: true, after: parseRetryAfter(resp.Header.Get("Retry-After"), w.now())}
	case c >= 300 && c < 400:
		return &statusError{code: c, note: "redirects are not followed: set the final URL"}
	default:
		return &statusError{code: c, retry: c >= 500 || c == http.StatusRequestTimeout}
	}
}

// statusError is an HTTP status a receiver answered.
type statusError struct {
	code  int
	retry bool
	after time.Duration
	note  string
}

func (e *statusError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.code, http.StatusText(e.code))
	if e.note != "" {
		s += " (" + e.note + ")"
	}
	return s
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date; 0
// when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
