package config

import (
	"net/http"
	"net/url"
	"strings"
)

// How an HTTP check compares the response body with expectedResponse
// (pipe's extension: PipeCD has no such setting).
const (
	ResponseMatchExact    = "EXACT"
	ResponseMatchContains = "CONTAINS"
	ResponseMatchRegex    = "REGEX"
)

var responseMatches = []string{ResponseMatchExact, ResponseMatchContains, ResponseMatchRegex}

// AnalysisHTTP is an HTTP check: a request whose response must have the
// expected status code and body.
type AnalysisHTTP struct {
	// The URL to request (http or https).
	URL string `json:"url"`
	// The request method.
	Method string `json:"method,omitempty" jsonschema:"default=GET"`
	// Request headers; a key may repeat.
	Headers []AnalysisHTTPHeader `json:"headers,omitempty"`
	// The expected status code.
	ExpectedCode int `json:"expectedCode,omitempty"`
	// The expected response body, compared as expectedResponseMatch says.
	ExpectedResponse string `json:"expectedResponse,omitempty"`
	// How the body is compared with expectedResponse: EXACT, CONTAINS or REGEX (pipe's extension).
	ExpectedResponseMatch string `json:"expectedResponseMatch,omitempty" jsonschema:"default=EXACT,enum=EXACT,enum=CONTAINS,enum=REGEX"`
	// How often the request is sent.
	Interval Duration `json:"interval"`
	// Failed checks tolerated before the stage fails.
	FailureLimit int `json:"failureLimit,omitempty"`
	// Count a response without a body as a success.
	SkipOnNoData bool `json:"skipOnNoData,omitempty"`
	// How long a request may take (PipeCD has no default; pipe uses 30s).
	Timeout Duration `json:"timeout,omitempty" jsonschema:"default=30s"`
}

// AnalysisHTTPHeader is one request header.
type AnalysisHTTPHeader struct {
	// The header name.
	Key string `json:"key" jsonschema:"required"`
	// The header value.
	Value string `json:"value"`
}

// unknownFieldHint explains near misses of the HTTP check fields.
func (*AnalysisHTTP) unknownFieldHint(key string) string {
	switch key {
	case "expected", "expectedStatus", "status", "statusCode", "code":
		return "the expected status code is `expectedCode` (e.g. `expectedCode: 200`); the body is `expectedResponse`"
	case "body", "expectedBody":
		return "the expected body is `expectedResponse` (with `expectedResponseMatch: EXACT|CONTAINS|REGEX`)"
	case "threshold":
		return "to tolerate failed checks set `failureLimit`"
	}
	return ""
}

// Validate implements validatable.
func (h *AnalysisHTTP) Validate(c *Checker, path string) {
	switch {
	case strings.TrimSpace(h.URL) == "":
		c.Errorf(path+".url", "", "missing `url`")
	case strings.Contains(h.URL, "{{"):
		// A template: checked once rendered.
	default:
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL is not echoed: its query or user info may hold a token.
			c.Errorf(path+".url", "write an absolute http:// or https:// URL", "invalid URL: not an absolute http:// or https:// URL")
		}
	}
	if m := strings.ToUpper(h.Method); m != h.Method || !validHTTPMethod(m) {
		c.Errorf(path+".method", enumHint(h.Method, httpMethods), "unknown HTTP method %q", h.Method)
	}
	for i, hd := range h.Headers {
		if !validHeaderName(hd.Key) {
			c.Errorf(itemPath(path+".headers", i)+".key", "a header name is a token such as X-Request-Id", "invalid header name %q", hd.Key)
		}
	}
	if h.ExpectedCode == 0 && h.ExpectedResponse == "" {
		c.Errorf(path+".expectedCode", "e.g. `expectedCode: 200`", "the check expects nothing: set `expectedCode` and/or `expectedResponse`")
	}
	if c.Has(path+".expectedCode") && (h.ExpectedCode < 100 || h.ExpectedCode > 599) {
		c.Errorf(path+".expectedCode", "an HTTP status code is between 100 and 599", "invalid status code %d", h.ExpectedCode)
	}
	switch {
	case !containsString(responseMatches, h.ExpectedResponseMatch):
		c.Errorf(path+".expectedResponseMatch", enumHint(h.ExpectedResponseMatch, responseMatches), "unknown response match %q", h.ExpectedResponseMatch)
	case c.Has(path+".expectedResponseMatch") && h.ExpectedResponse == "":
		c.Errorf(path+".expectedResponseMatch", "set `expectedResponse`", "expectedResponseMatch without expectedResponse")
	case h.ExpectedResponseMatch == ResponseMatchRegex:
		checkRegexp(c, path+".expectedResponse", h.ExpectedResponse)
	}
	checkCommon(c, path, h.Interval, h.FailureLimit, h.Timeout)
}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func validHTTPMethod(m string) bool { return containsString(httpMethods, m) || m == http.MethodTrace }

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// TemplatableAnalysisHTTP is an HTTP check, inline or from a template.
type TemplatableAnalysisHTTP struct {
	AnalysisHTTP
	// Use a template of the .pipe/ AnalysisTemplate instead of the inline fields.
	Template AnalysisTemplateRef `json:"template,omitempty"`
}

// Validate implements validatable.
func (h *TemplatableAnalysisHTTP) Validate(c *Checker, path string) {
	inline := []string{"url", "method", "headers", "expectedCode", "expectedResponse", "expectedResponseMatch", "interval", "failureLimit", "skipOnNoData", "timeout"}
	if checkTemplateRef(c, path, "https", h.Template, inline) {
		return
	}
	h.AnalysisHTTP.Validate(c, path)
}
