package kubernetes

import (
	"context"
	"sync"
)

// Action is what happened to an object, or what pipe is doing with it.
type Action string

const (
	ActionCreated    Action = "created"    // server-side apply created it
	ActionConfigured Action = "configured" // server-side apply changed it
	ActionUnchanged  Action = "unchanged"  // server-side apply left it as it was
	ActionReplaced   Action = "replaced"   // pipecd.dev/sync-by-replace: replaced in place
	ActionRecreated  Action = "recreated"  // pipecd.dev/force-sync-by-replace: deleted and created
	ActionPruned     Action = "pruned"     // deleted: the application's, no longer in Git
	ActionWaiting    Action = "waiting"    // not ready yet; Message says why
	ActionReady      Action = "ready"      // kstatus Current
	ActionFailed     Action = "failed"     // an operation on the object failed; Message says why
	ActionRetrying   Action = "retrying"   // a transient error; Message says what and when
	ActionWarning    Action = "warning"    // a warning from the apiserver, or something skipped
)

// Event is one step of progress. Key is zero for events about no object
// (e.g. a server warning outside any object).
type Event struct {
	Action  Action
	Key     Key
	Message string
}

// Events receives progress. The package calls it from one goroutine at a
// time, in the order things happen; it must not block for long.
type Events func(Event)

// sink serialises calls to an Events callback; a nil sink discards.
type sink struct {
	mu sync.Mutex
	fn Events
}

func newSink(fn Events) *sink { return &sink{fn: fn} }

func (s *sink) emit(e Event) {
	if s == nil || s.fn == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fn(e)
}

type sinkKey struct{}
type objectKey struct{}

// withSink carries the sink (and the object being worked on) in the
// context, for the apiserver's warnings, which client-go hands over with
// the request's context only.
func withSink(ctx context.Context, s *sink) context.Context {
	return context.WithValue(ctx, sinkKey{}, s)
}

func withObject(ctx context.Context, k Key) context.Context {
	return context.WithValue(ctx, objectKey{}, k)
}

// warningHandler forwards apiserver warnings (deprecated APIs, unknown
// fields under Warn validation...) to the Events of the operation.
type warningHandler struct{}

func (warningHandler) HandleWarningHeaderWithContext(ctx context.Context, code int, agent, text string) {
	if code != 299 || text == "" {
		return
	}
	s, _ := ctx.Value(sinkKey{}).(*sink)
	k, _ := ctx.Value(objectKey{}).(Key)
	s.emit(Event{Action: ActionWarning, Key: k, Message: text})
}
