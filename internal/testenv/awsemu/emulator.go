package awsemu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The credentials the emulator accepts, and where it pretends to be.
const (
	AccessKeyID     = "AKIAPIPEEMULATOR0001"
	SecretAccessKey = "pipe-emulator-secret-key-not-a-secret"
	DefaultRegion   = "us-east-1"
	AccountID       = "123456789012"
)

// userARN is the identity of AccessKeyID (GetCallerIdentity, AccessDenied).
const userARN = "arn:aws:iam::" + AccountID + ":user/pipe-emulator"

// Options configures an Emulator.
type Options struct {
	Region string // "" = DefaultRegion
	// UpdateDelay is how long a function stays Pending (create) /
	// LastUpdateStatus InProgress (update of code or configuration) before
	// Active / Successful. 0 means the transition has happened by the next
	// request.
	UpdateDelay time.Duration
	Now         func() time.Time // nil = time.Now
}

// Request is one request the emulator served, for tests counting calls.
type Request struct {
	Service   string // "lambda", "s3", "sts", "ecs", "elasticloadbalancing", "kms", "control" or "" when unrecognized
	Operation string // the SDK's operation name, e.g. "UpdateFunctionCode"
	Function  string // the function's name, for Lambda requests naming one
	Status    int    // the HTTP status code of the response
}

// Emulator is the emulated AWS account: an http.Handler serving Lambda, S3
// and STS on one endpoint. See the package documentation.
type Emulator struct {
	region string
	now    func() time.Time

	mu        sync.Mutex
	delay     time.Duration
	functions map[string]*function
	failNext  map[string]string
	throttle  int
	deny      string
	requests  []Request
	buckets   map[string]*bucket
	sessions  map[string]*session // temporary access key ID → session
	seq       uint64
	ecs       ecsState
	elb       elbState
	kms       kmsState
}

// New returns an emulator with no functions, buckets or sessions.
func New(opts Options) *Emulator {
	e := &Emulator{
		region:    opts.Region,
		now:       opts.Now,
		delay:     opts.UpdateDelay,
		functions: map[string]*function{},
		failNext:  map[string]string{},
		buckets:   map[string]*bucket{},
		sessions:  map[string]*session{},
	}
	if e.region == "" {
		e.region = DefaultRegion
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e
}

// Start is New and an httptest.Server serving it; the caller closes the
// server.
func Start(opts Options) (*Emulator, *httptest.Server) {
	e := New(opts)
	return e, httptest.NewServer(e)
}

// Region is the region the emulator serves.
func (e *Emulator) Region() string { return e.region }

// FailNextUpdate makes the next create or update (code or configuration)
// of function end failed: LastUpdateStatus Failed (and State Failed on
// create) with LastUpdateStatusReason reason and LastUpdateStatusReasonCode
// InternalError.
func (e *Emulator) FailNextUpdate(function, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failNext[function] = reason
}

// Throttle makes the next n Lambda requests fail with 429
// TooManyRequestsException (Reason CallerRateLimitExceeded, Retry-After).
func (e *Emulator) Throttle(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.throttle = n
}

// Deny refuses every call of action ("lambda:UpdateFunctionCode",
// "s3:GetObject", "sts:AssumeRole", ...) with AccessDenied as AWS words it
// when no identity-based policy allows it. Deny("") clears it.
func (e *Emulator) Deny(action string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deny = action
}

// SetUpdateDelay changes Options.UpdateDelay for the updates that follow.
func (e *Emulator) SetUpdateDelay(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.delay = d
}

// Requests returns every request served so far, in order.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Request(nil), e.requests...)
}

// Calls counts the requests of operation.
func (e *Emulator) Calls(operation string) int {
	n := 0
	for _, r := range e.Requests() {
		if r.Operation == operation {
			n++
		}
	}
	return n
}

// nextID returns a fresh identifier derived from a counter: deterministic
// for a given sequence of requests, unique within the emulator. Callers
// hold e.mu.
func (e *Emulator) nextID(kind string) string {
	e.seq++
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", kind, e.seq))
	return hex.EncodeToString(sum[:])
}

// uuid formats a fresh id like a UUID (RevisionId, RequestId). Callers hold
// e.mu.
func (e *Emulator) uuid() string {
	h := e.nextID("uuid")
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// statusWriter remembers the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// call is one request being served: what the router found out about it.
type call struct {
	service   string
	operation string
	function  string
	principal string // the caller's ARN
}

// ServeHTTP routes a request by the service of its SigV4 credential scope
// (Authorization header or presigned query), an unsigned
// AssumeRoleWithWebIdentity form to STS, /_awsemu/ to the control
// endpoint.
func (e *Emulator) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	c := &call{}
	defer func() {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		e.mu.Lock()
		e.requests = append(e.requests, Request{Service: c.service, Operation: c.operation, Function: c.function, Status: w.status})
		e.mu.Unlock()
	}()
	if strings.HasPrefix(r.URL.Path, "/_awsemu/") {
		c.service = "control"
		e.serveControl(w, r, c)
		return
	}
	akid, region, service, signed := credentialScope(r)
	if !signed {
		if r.Method == http.MethodPost && isWebIdentityForm(r) {
			c.service = "sts"
			e.serveSTS(w, r, c)
			return
		}
		c.service = ""
		writeJSONError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token", nil)
		return
	}
	c.service = service
	principal, authErr := e.authenticate(akid, r.Header.Get("X-Amz-Security-Token"), r.URL.Query().Get("X-Amz-Security-Token"))
	c.principal = principal
	switch service {
	case "lambda":
		e.serveLambda(w, r, c, authErr, region)
	case "s3":
		e.serveS3(w, r, c, authErr)
	case "sts":
		e.serveSTS(w, r, c, authErr)
	case "ecs":
		e.serveECS(w, r, c, authErr, region)
	case "elasticloadbalancing":
		e.serveELB(w, r, c, authErr, region)
	case "kms":
		e.serveKMS(w, r, c, authErr, region)
	default:
		writeJSONError(w, http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("the emulator does not serve the service %q", service), nil)
	}
}

// authErr is why a signed request's credentials are refused.
type authErr int

const (
	authOK authErr = iota
	authUnknownKey
	authExpired
)

// authenticate checks a request's access key (and session token, for the
// temporary credentials the emulator's STS issued) and returns the
// caller's ARN.
func (e *Emulator) authenticate(akid, tokenHeader, tokenQuery string) (string, authErr) {
	if akid == AccessKeyID {
		return userARN, authOK
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[akid]
	if !ok {
		return "", authUnknownKey
	}
	token := tokenHeader
	if token == "" {
		token = tokenQuery
	}
	if token != s.token {
		return "", authUnknownKey
	}
	if !e.now().Before(s.expires) {
		return s.arn, authExpired
	}
	return s.arn, authOK
}

// credentialScope reads the access key, region and service of a SigV4
// request's credential scope: Credential=AKID/20260101/us-east-1/lambda/aws4_request.
func credentialScope(r *http.Request) (akid, region, service string, ok bool) {
	var cred string
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "AWS4-") {
		_, rest, found := strings.Cut(auth, "Credential=")
		if !found {
			return "", "", "", false
		}
		cred, _, _ = strings.Cut(rest, ",")
	} else if q := r.URL.Query().Get("X-Amz-Credential"); q != "" {
		cred = q
	} else {
		return "", "", "", false
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return "", "", "", false
	}
	return parts[0], parts[2], parts[3], true
}

// isWebIdentityForm reports whether an unsigned POST is STS's
// AssumeRoleWithWebIdentity (form-encoded, Action in the body).
func isWebIdentityForm(r *http.Request) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return false
	}
	if err := r.ParseForm(); err != nil {
		return false
	}
	return r.PostForm.Get("Action") == "AssumeRoleWithWebIdentity"
}

// denied reports whether action is the one Deny named.
func (e *Emulator) denied(action string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.deny != "" && strings.EqualFold(e.deny, action)
}

// deniedMessage words an AccessDenied as AWS does.
func deniedMessage(principal, action, resource string) string {
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action", principal, action, resource, action)
}

// queryValues parses a query, ignoring malformed parts.
func queryValues(r *http.Request) url.Values {
	v, _ := url.ParseQuery(r.URL.RawQuery)
	return v
}
