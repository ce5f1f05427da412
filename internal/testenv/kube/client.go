package kube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client is a minimal REST client for the control plane: JSON over HTTPS
// with the admin client certificate. It is what the harness itself needs
// (readiness, the KWOK node) and enough for tests to set up and inspect
// objects without depending on client-go.
type Client struct {
	// Host is the apiserver's base URL, https://127.0.0.1:<port>.
	Host string
	// HTTP carries the CA and the admin client certificate.
	HTTP *http.Client
}

// APIError is a non-2xx answer of the apiserver.
type APIError struct {
	Method, Path string
	StatusCode   int
	// Status is the decoded metav1.Status when the body is one.
	Reason, Message string
	Body            []byte
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = strings.TrimSpace(string(e.Body))
	}
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.StatusCode, e.Reason, msg)
}

// IsNotFound reports whether err is an APIError with status 404.
func IsNotFound(err error) bool { return statusIs(err, http.StatusNotFound) }

// IsAlreadyExists reports whether err is an APIError with status 409.
func IsAlreadyExists(err error) bool { return statusIs(err, http.StatusConflict) }

func statusIs(err error, code int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == code
}

func newClient(host string, caPEM, certPEM, keyPEM []byte) (*Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("kube client: no CA certificate")
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("kube client: %w", err)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{Host: host, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// Do sends a request with body (nil, []byte/json.RawMessage sent as is, or
// a value marshalled to JSON) and decodes a 2xx JSON answer into out (nil:
// discard). A non-2xx answer is an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Host+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		ct := "application/json"
		if method == http.MethodPatch {
			ct = "application/merge-patch+json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{Method: method, Path: path, StatusCode: resp.StatusCode, Body: data}
		var st struct{ Reason, Message string }
		if json.Unmarshal(data, &st) == nil {
			e.Reason, e.Message = st.Reason, st.Message
		}
		return e
	}
	if out == nil {
		return nil
	}
	if p, ok := out.(*[]byte); ok {
		*p = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}

// Get decodes the object at path into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.Do(ctx, http.MethodGet, path, nil, out)
}

// Create POSTs obj to the collection at path and decodes the created object
// into out (may be nil).
func (c *Client) Create(ctx context.Context, path string, obj, out any) error {
	return c.Do(ctx, http.MethodPost, path, obj, out)
}

// Delete deletes the object at path; a missing object is not an error.
func (c *Client) Delete(ctx context.Context, path string) error {
	if err := c.Do(ctx, http.MethodDelete, path, nil, nil); err != nil && !IsNotFound(err) {
		return err
	}
	return nil
}

// Ready reports whether GET /readyz answers 200.
func (c *Client) Ready(ctx context.Context) error {
	var body []byte
	return c.Do(ctx, http.MethodGet, "/readyz", nil, &body)
}
