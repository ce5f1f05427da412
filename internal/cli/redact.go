package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitops-pipe/pipe/internal/notify"
	"github.com/gitops-pipe/pipe/internal/redact"
)

// This file wires the run's secret values (app.secrets) into what the run
// writes and sends: its output streams, panics, the files it writes, the
// requests to CI systems and notification receivers. The requests to the
// platforms (Kubernetes, AWS, Cloud Run) are not masked: they must carry
// the real values.

// stream is stdout or stderr, masked.
type stream interface {
	io.Writer
	Flush() error
}

// maskedStream masks the secrets of set in what is written to w. It keeps
// w's Fd (the live view measures the terminal through it).
func maskedStream(set *redact.Set, w io.Writer) stream {
	sw := set.Writer(w)
	if f, ok := w.(interface{ Fd() uintptr }); ok {
		return fdStream{SetWriter: sw, fd: f.Fd}
	}
	return sw
}

type fdStream struct {
	*redact.SetWriter
	fd func() uintptr
}

func (s fdStream) Fd() uintptr { return s.fd() }

// execute runs the command, turning a panic into exit code 1 with the
// panic's value and stack, masked, on stderr.
func (a *app) execute(ctx context.Context, root *cobra.Command) (err error) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(a.err, "pipe: internal error: %s\n%s", a.secrets.Mask(fmt.Sprint(v)), a.secrets.Mask(string(debug.Stack())))
			fmt.Fprintln(a.err, "hint: this is a bug in pipe: please report it with the lines above")
			err = &Error{Code: ExitFailed, Summary: "internal error", Quiet: true}
		}
	}()
	return root.ExecuteContext(ctx)
}

// mask is text with the run's secrets masked, for the files it writes.
func (a *app) mask(s string) string { return a.secrets.Mask(s) }

// reportHTTPClient is a client for requests to CI systems and notification
// receivers (comments, statuses, issues, Slack, webhooks): it masks the
// run's secrets in their bodies and URL queries.
func (a *app) reportHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &maskingTransport{set: a.secrets, base: http.DefaultTransport}}
}

// notifyHTTPClient is the client of the run's notifications.
func (a *app) notifyHTTPClient() *http.Client {
	return a.reportHTTPClient(notify.DefaultRequestTimeout)
}

// maskingTransport masks the secrets of set in the body and the URL query
// of each request before base sends it.
type maskingTransport struct {
	set  *redact.Set
	base http.RoundTripper
}

// errSignedSecret: a signed body cannot be masked (the signature would
// not match what is sent).
var errSignedSecret = errors.New("the request body held a secret value and is signed: not sent, as masking it would void its signature; " +
	"keep decrypted values out of what is notified")

func (t *maskingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.set.Empty() {
		return t.base.RoundTrip(req)
	}
	// A RoundTripper must not change the request it is given.
	out := req.Clone(req.Context())
	if q := req.URL.RawQuery; q != "" {
		out.URL.RawQuery = t.set.Mask(q)
	}
	if req.Body != nil && req.Body != http.NoBody {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the request body: %w", err)
		}
		masked := t.set.MaskBytes(body)
		if !bytes.Equal(masked, body) && req.Header.Get(notify.SignatureHeader) != "" {
			return nil, errSignedSecret
		}
		out.ContentLength = int64(len(masked))
		out.GetBody = func() (io.ReadCloser, error) {
			if len(masked) == 0 {
				return http.NoBody, nil
			}
			return io.NopCloser(bytes.NewReader(masked)), nil
		}
		out.Body, _ = out.GetBody()
	}
	return t.base.RoundTrip(out)
}
