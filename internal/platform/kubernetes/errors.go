package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Reason classifies an Error.
type Reason string

const (
	ReasonConflict     Reason = "Conflict"     // fields owned by another field manager
	ReasonForbidden    Reason = "Forbidden"    // RBAC (or admission) refused the request
	ReasonUnauthorized Reason = "Unauthorized" // the credentials were refused
	ReasonInvalid      Reason = "Invalid"      // the manifest is invalid (client- or server-side)
	ReasonNoKind       Reason = "NoKind"       // the cluster does not serve the kind
	ReasonNotFound     Reason = "NotFound"     // e.g. the namespace does not exist
	ReasonUnreachable  Reason = "Unreachable"  // the apiserver did not answer (after retries)
	ReasonNotReady     Reason = "NotReady"     // readiness wait timed out or an object failed
	ReasonConfig       Reason = "Config"       // the connection settings are unusable
	ReasonOther        Reason = "Other"
)

// Sentinels for errors.Is: errors.Is(err, ErrConflict) holds for an *Error
// with that Reason.
var (
	ErrConflict     = &Error{Reason: ReasonConflict}
	ErrForbidden    = &Error{Reason: ReasonForbidden}
	ErrUnauthorized = &Error{Reason: ReasonUnauthorized}
	ErrInvalid      = &Error{Reason: ReasonInvalid}
	ErrNoKind       = &Error{Reason: ReasonNoKind}
	ErrNotFound     = &Error{Reason: ReasonNotFound}
	ErrUnreachable  = &Error{Reason: ReasonUnreachable}
	ErrNotReady     = &Error{Reason: ReasonNotReady}
)

// Error is a failure in words for the user: Msg says what failed and why
// (naming the object), Hint what to do about it.
type Error struct {
	Op     string // "apply", "dry-run", "replace", "delete", "list", "get", "wait", "discover", "connect", "prepare"
	Key    Key    // the object, when the error is about one
	Reason Reason
	Msg    string
	Hint   string
	// Conflicts are the contested fields of a ReasonConflict error.
	Conflicts []Conflict
	// Stuck are the objects that were not ready, for ReasonNotReady.
	Stuck []Stuck
	Err   error
}

// Conflict is a field another field manager owns with a different value.
type Conflict struct {
	Field   string // e.g. .spec.replicas
	Manager string // e.g. kubectl-edit
	Message string // the apiserver's words
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinels by Reason.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Reason == e.Reason
}

// request describes the request that failed, for the message.
type request struct {
	op   string // apply, dry-run, ...
	verb string // RBAC verb: patch, update, create, delete, list, get, watch
	key  Key
	gvr  schema.GroupVersionResource
	host string
}

func (r request) resource() string {
	if r.gvr.Group == "" {
		return r.gvr.Resource
	}
	return r.gvr.Resource + "." + r.gvr.Group
}

func (r request) subject() string {
	if r.key.Name != "" {
		return r.op + " " + r.key.Readable()
	}
	s := r.op + " " + r.resource()
	if r.key.Namespace != "" {
		s += " in namespace " + r.key.Namespace
	}
	return s
}

// explainError turns a client-go error into an *Error naming the object;
// errors already explained pass through.
func explainError(r request, err error) error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	e := &Error{Op: r.op, Key: r.key, Reason: ReasonOther, Err: err}
	var se apierrors.APIStatus
	status := metav1.Status{}
	if errors.As(err, &se) {
		status = se.Status()
	}
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e.Msg = fmt.Sprintf("%s: %v", r.subject(), err)
	case meta.IsNoMatchError(err):
		return noKindError(schema.GroupVersionKind{Group: r.key.Group, Kind: r.key.Kind}, err)
	case apierrors.IsConflict(err) && hasCause(status, metav1.CauseTypeFieldManagerConflict):
		e.Reason = ReasonConflict
		e.Conflicts = conflicts(status)
		var parts []string
		for _, c := range e.Conflicts {
			parts = append(parts, fmt.Sprintf("%s (manager %q)", c.Field, c.Manager))
		}
		e.Msg = fmt.Sprintf("%s: conflict: fields set by another field manager to a different value: %s", r.subject(), strings.Join(parts, ", "))
		e.Hint = "rerun with --force-conflicts to take these fields over (the other manager's values are overwritten), or remove them from the manifest"
	case apierrors.IsForbidden(err):
		e.Reason = ReasonForbidden
		user := "the client"
		if m := forbiddenUser.FindStringSubmatch(status.Message); m != nil {
			user = fmt.Sprintf("user %q", m[1])
		}
		where := "cluster-wide"
		if r.key.Namespace != "" {
			where = fmt.Sprintf("in namespace %q", r.key.Namespace)
		}
		e.Msg = fmt.Sprintf("%s: forbidden: %s cannot %s %s %s", r.subject(), user, r.verb, r.resource(), where)
		if reason := forbiddenReason(status.Message); reason != "" {
			e.Msg += ": " + reason
		}
		e.Hint = fmt.Sprintf("grant %s the %q verb on %s %s (Role/ClusterRole and binding), or use a context that has it", user, r.verb, r.resource(), where)
	case apierrors.IsUnauthorized(err):
		e.Reason = ReasonUnauthorized
		e.Msg = fmt.Sprintf("%s: the cluster at %s refused the credentials: %s", r.subject(), r.host, status.Message)
		e.Hint = "check the kubeconfig's user (expired token or certificate?)"
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsUnsupportedMediaType(err),
		// Server-side apply reports a manifest that does not fit the
		// schema (unknown field, wrong type) as an internal error.
		apierrors.IsInternalError(err) && strings.Contains(status.Message, "failed to create typed patch object"):
		e.Reason = ReasonInvalid
		e.Msg = fmt.Sprintf("%s: the apiserver rejected the manifest: %s", r.subject(), invalidDetail(status))
		e.Hint = "fix the manifest (field names are checked strictly against the cluster's schema)"
	case apierrors.IsNotFound(err):
		e.Reason = ReasonNotFound
		e.Msg = fmt.Sprintf("%s: %s", r.subject(), status.Message)
		if status.Details != nil && status.Details.Kind == "namespaces" {
			e.Msg = fmt.Sprintf("%s: namespace %q does not exist", r.subject(), status.Details.Name)
			e.Hint = "add the Namespace to the manifests or set spec.input.autoCreateNamespace"
		}
	case transient(err):
		e.Reason = ReasonUnreachable
		why := err.Error()
		var oe *net.OpError
		if errors.As(err, &oe) { // without the request's URL
			why = oe.Error()
		}
		tries := ""
		var re *retriedError
		if errors.As(err, &re) {
			tries = fmt.Sprintf(" (%d attempts)", re.attempts)
		}
		e.Msg = fmt.Sprintf("%s: the apiserver at %s did not answer%s: %s", r.subject(), r.host, tries, why)
		e.Hint = "check that the cluster is reachable from here (network, VPN, --server) and healthy"
	default:
		msg := err.Error()
		if status.Message != "" {
			msg = status.Message
		}
		e.Msg = fmt.Sprintf("%s: %s", r.subject(), msg)
	}
	return e
}

// classify explains an error about no particular object.
func classify(err error) error {
	return explainError(request{op: "request"}, err)
}

func noKindError(gvk schema.GroupVersionKind, err error) error {
	return &Error{Op: "discover", Key: Key{Group: gvk.Group, Kind: gvk.Kind}, Reason: ReasonNoKind,
		Msg:  fmt.Sprintf("no resource type %s in the cluster: install its CRD first", gvkString(gvk)),
		Hint: "apply the CustomResourceDefinition (in this application or before it), or fix apiVersion/kind",
		Err:  err}
}

var forbiddenUser = regexp.MustCompile(`User "([^"]*)" cannot`)

// forbiddenReason is what follows the RBAC sentence in a Forbidden message
// (admission plugins put their reason there), if anything.
func forbiddenReason(msg string) string {
	if i := strings.Index(msg, "is forbidden: "); i >= 0 {
		rest := msg[i+len("is forbidden: "):]
		if strings.HasPrefix(rest, "User ") {
			return ""
		}
		return rest
	}
	return ""
}

func hasCause(s metav1.Status, t metav1.CauseType) bool {
	if s.Details == nil {
		return false
	}
	for _, c := range s.Details.Causes {
		if c.Type == t {
			return true
		}
	}
	return false
}

// conflicts reads the FieldManagerConflict causes: message
// `conflict with "manager" using apps/v1`, field `.spec.replicas`.
func conflicts(s metav1.Status) []Conflict {
	var out []Conflict
	for _, c := range s.Details.Causes {
		if c.Type != metav1.CauseTypeFieldManagerConflict {
			continue
		}
		mgr := strings.TrimPrefix(c.Message, "conflict with ")
		if q, err := strconv.QuotedPrefix(mgr); err == nil {
			mgr, _ = strconv.Unquote(q)
		}
		out = append(out, Conflict{Field: c.Field, Manager: mgr, Message: c.Message})
	}
	return out
}

// invalidDetail is the useful part of an Invalid/BadRequest status: the
// causes (field: message) when there are any, else the message.
func invalidDetail(s metav1.Status) string {
	if s.Details != nil && len(s.Details.Causes) > 0 {
		var parts []string
		for _, c := range s.Details.Causes {
			switch {
			case c.Field != "" && !strings.Contains(c.Message, c.Field):
				parts = append(parts, c.Field+": "+c.Message)
			default:
				parts = append(parts, c.Message)
			}
		}
		return strings.Join(parts, "; ")
	}
	msg := s.Message
	// SSA's unknown-field message starts with plumbing:
	// "failed to create typed patch object (ns/name; apps/v1, Kind=Deployment): .spec.x: field not declared in schema"
	if strings.HasPrefix(msg, "failed to create typed patch object (") {
		if i := strings.Index(msg, "): "); i >= 0 {
			msg = msg[i+3:]
		}
	}
	return msg
}

// transient reports whether a request may succeed if tried again: the
// apiserver unreachable, timing out or overloaded.
func transient(err error) bool {
	var te *timeoutError
	if errors.As(err, &te) {
		return true
	}
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) {
		return true
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return se.Status().Code == 502 || se.Status().Code == 503 || se.Status().Code == 504
	}
	if utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		utilnet.IsTimeout(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
