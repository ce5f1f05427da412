// Package httpcheck runs the HTTP checks of ANALYSIS stages: one request,
// whose status code and body are compared with what the check expects.
//
// Comparison rules:
//   - expectedCode 0 accepts any status code;
//   - EXACT (the default) compares the whole body with expectedResponse,
//     both without their trailing line breaks (\n or \r\n): servers end
//     bodies with a newline and YAML block scalars (`|`) add one;
//   - CONTAINS looks for expectedResponse in the body;
//   - REGEX matches the body against expectedResponse, an RE2 expression
//     (Go's regexp syntax), unanchored: write ^...$ to match it whole.
//     The body's trailing line breaks are removed first, so that $ works
//     on "ok\n". Expressions are compiled once per process.
//
// At most MaxBody bytes of a body are read: EXACT fails on a longer body,
// CONTAINS and REGEX look at its first MaxBody bytes. A response with an
// empty body, when a body is expected, is NoData (the runner applies
// skipOnNoData). Transport failures and timeouts are errors, not failed
// checks. Reasons quote at most ~200 bytes of the body and never the
// request's header values, which may hold tokens.
package httpcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gitops-pipe/pipe/internal/config"
	"github.com/gitops-pipe/pipe/internal/redact"
)

const (
	// DefaultTimeout is the timeout of a check that sets none.
	DefaultTimeout = 30 * time.Second
	// MaxBody is the most bytes of a response body read.
	MaxBody = 1 << 20
	// snippetLen is the most bytes of a body quoted in a Reason.
	snippetLen = 200
)

// Result is the outcome of one check.
type Result struct {
	// Pass is true when the response is what the check expects.
	Pass bool
	// Code is the response's status code.
	Code int
	// Reason says what was expected and what came, when Pass is false.
	Reason string
	// NoData is true when a body was expected and the response had none.
	NoData bool
	// Duration is how long the request took, body included.
	Duration time.Duration
}

var regexps sync.Map // pattern -> *regexp.Regexp

func compile(pattern string) (*regexp.Regexp, error) {
	if re, ok := regexps.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	regexps.Store(pattern, re)
	return re, nil
}

// Check sends the request of c with client (nil means
// http.DefaultClient) and judges the response. The error is for checks
// that could not run: an invalid check, a transport failure, a timeout.
func Check(ctx context.Context, client *http.Client, c config.AnalysisHTTP) (Result, error) {
	if client == nil {
		client = http.DefaultClient
	}
	method := strings.ToUpper(strings.TrimSpace(c.Method))
	if method == "" {
		method = http.MethodGet
	}
	match := strings.ToUpper(c.ExpectedResponseMatch)
	if match == "" {
		match = config.ResponseMatchExact
	}
	var re *regexp.Regexp
	switch match {
	case config.ResponseMatchExact, config.ResponseMatchContains:
	case config.ResponseMatchRegex:
		var err error
		if re, err = compile(c.ExpectedResponse); err != nil {
			return Result{}, fmt.Errorf("http check: expectedResponse is not a valid RE2 regular expression: %v", err)
		}
	default:
		return Result{}, fmt.Errorf("http check: unknown expectedResponseMatch %q: use EXACT, CONTAINS or REGEX", c.ExpectedResponseMatch)
	}
	u, err := url.Parse(strings.TrimSpace(c.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Result{}, fmt.Errorf("http check: url %q is not an absolute http:// or https:// URL", redact.Endpoint(c.URL))
	}
	if c.ExpectedCode != 0 && (c.ExpectedCode < 100 || c.ExpectedCode > 599) {
		return Result{}, fmt.Errorf("http check %s %s: expectedCode %d is not an HTTP status code (100-599)", method, redact.Endpoint(c.URL), c.ExpectedCode)
	}
	timeout := c.Timeout.Std()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return Result{}, fmt.Errorf("http check %s %s: cannot build the request: %v", method, redact.Endpoint(c.URL), unwrapURLError(err))
	}
	for _, h := range c.Headers {
		if strings.EqualFold(h.Key, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Key, h.Value)
	}
	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Result{}, transportError(ctx, method, c.URL, timeout, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	res := Result{Code: resp.StatusCode, Duration: time.Since(began)}
	if err != nil {
		return res, transportError(ctx, method, c.URL, timeout, fmt.Errorf("reading the body: %w", err))
	}
	truncated := len(body) > MaxBody
	if truncated {
		body = body[:MaxBody]
	}
	if c.ExpectedCode != 0 && resp.StatusCode != c.ExpectedCode {
		res.Reason = fmt.Sprintf("expected status %d, got %d%s", c.ExpectedCode, resp.StatusCode, bodyNote(body))
		return res, nil
	}
	if c.ExpectedResponse == "" {
		res.Pass = true
		return res, nil
	}
	if len(body) == 0 {
		res.NoData = true
		res.Reason = fmt.Sprintf("expected a body (%s %s), got an empty body with status %d", strings.ToLower(match), quote(c.ExpectedResponse), resp.StatusCode)
		return res, nil
	}
	switch match {
	case config.ResponseMatchExact:
		want := trimNewline(c.ExpectedResponse)
		switch {
		case truncated:
			res.Reason = fmt.Sprintf("expected the body %s, got a body larger than %d bytes starting with %s", quote(want), MaxBody, quote(snippet(body)))
		case string(trimNewline(string(body))) != want:
			res.Reason = fmt.Sprintf("expected the body %s, got %s", quote(want), quote(snippet(body)))
		default:
			res.Pass = true
		}
	case config.ResponseMatchContains:
		if bytes.Contains(body, []byte(c.ExpectedResponse)) {
			res.Pass = true
		} else {
			res.Reason = fmt.Sprintf("expected the body to contain %s, got %s%s", quote(c.ExpectedResponse), quote(snippet(body)), truncNote(truncated))
		}
	case config.ResponseMatchRegex:
		if re.MatchString(trimNewline(string(body))) {
			res.Pass = true
		} else {
			res.Reason = fmt.Sprintf("expected the body to match /%s/, got %s%s", c.ExpectedResponse, quote(snippet(body)), truncNote(truncated))
		}
	}
	return res, nil
}

func trimNewline(s string) string {
	for strings.HasSuffix(s, "\n") {
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	}
	return s
}

func truncNote(truncated bool) string {
	if truncated {
		return fmt.Sprintf(" (only the first %d bytes were read)", MaxBody)
	}
	return ""
}

func bodyNote(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	return ", body " + quote(snippet(body))
}

// snippet returns at most snippetLen bytes of body, cut on a rune
// boundary, with "…" when cut.
func snippet(body []byte) string {
	if len(body) <= snippetLen {
		return string(body)
	}
	cut := snippetLen
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return string(body[:cut]) + "…"
}

func quote(s string) string {
	if len(s) > snippetLen {
		s = snippet([]byte(s))
	}
	return fmt.Sprintf("%q", s)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func transportError(ctx context.Context, method, rawURL string, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("http check %s %s: no response within %s; raise `timeout` or check the service: %w", method, redact.Endpoint(rawURL), timeout, context.DeadlineExceeded)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("http check %s %s: interrupted: %w", method, redact.Endpoint(rawURL), context.Canceled)
	}
	return fmt.Errorf("http check %s %s: request failed: %v; check the URL and that the service is reachable", method, redact.Endpoint(rawURL), unwrapURLError(err))
}
