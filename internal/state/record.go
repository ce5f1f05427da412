package state

import (
	"encoding/json"
	"maps"
	"time"
)

// SchemaVersion is the record schema this package writes. Records with a
// higher version are read leniently (the fields this version knows), marked
// with FutureSchema, and written back byte for byte: never dropped, never
// downgraded.
const SchemaVersion = 1

// DeploymentStatus is the state of a deployment as a whole.
type DeploymentStatus string

const (
	StatusPlanned         DeploymentStatus = "PLANNED"
	StatusRunning         DeploymentStatus = "RUNNING"
	StatusWaitingApproval DeploymentStatus = "WAITING_APPROVAL"
	StatusRollingBack     DeploymentStatus = "ROLLING_BACK"
	StatusSucceeded       DeploymentStatus = "SUCCEEDED"
	StatusFailed          DeploymentStatus = "FAILED"
	StatusCancelled       DeploymentStatus = "CANCELLED"
)

// IsTerminal reports whether the deployment has finished (succeeded, failed
// or cancelled); a terminal record is not changed again except to add Events.
func (s DeploymentStatus) IsTerminal() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCancelled
}

// Known reports whether s is one of the statuses above.
func (s DeploymentStatus) Known() bool { return s.rank() > 0 }

// rank orders statuses by progress for the merge rule: a later phase of a
// deployment ranks higher; all terminal statuses rank above all others.
func (s DeploymentStatus) rank() int {
	switch s {
	case StatusPlanned:
		return 1
	case StatusRunning:
		return 2
	case StatusWaitingApproval:
		return 3
	case StatusRollingBack:
		return 4
	case StatusSucceeded, StatusFailed, StatusCancelled:
		return 5
	}
	return 0
}

// StageStatus is the state of one stage.
type StageStatus string

const (
	StageNotStarted StageStatus = "NOT_STARTED"
	StageRunning    StageStatus = "RUNNING"
	StageSucceeded  StageStatus = "SUCCEEDED"
	StageFailed     StageStatus = "FAILED"
	StageSkipped    StageStatus = "SKIPPED"
	StageCancelled  StageStatus = "CANCELLED"
)

// IsTerminal reports whether the stage has finished (succeeded, failed,
// skipped or cancelled).
func (s StageStatus) IsTerminal() bool {
	return s == StageSucceeded || s == StageFailed || s == StageSkipped || s == StageCancelled
}

// Known reports whether s is one of the stage statuses above.
func (s StageStatus) Known() bool {
	return s == StageNotStarted || s == StageRunning || s.IsTerminal()
}

// TriggerKind is what started a deployment.
type TriggerKind string

const (
	TriggerPush     TriggerKind = "push"
	TriggerManual   TriggerKind = "manual"
	TriggerEvent    TriggerKind = "event"
	TriggerRollback TriggerKind = "rollback"
	TriggerDrift    TriggerKind = "drift"
)

// Strategy is how a deployment is carried out.
type Strategy string

const (
	StrategyQuickSync Strategy = "QUICK_SYNC"
	StrategyPipeline  Strategy = "PIPELINE"
)

// Commit identifies a commit and carries the metadata shown in history.
type Commit struct {
	Hash    string    `json:"hash"`
	Subject string    `json:"subject,omitempty"`
	Author  string    `json:"author,omitempty"`
	Time    time.Time `json:"time,omitzero"`
}

// Trigger says who or what started a deployment.
type Trigger struct {
	Kind     TriggerKind `json:"kind"`
	Actor    string      `json:"actor,omitempty"`
	CIRunURL string      `json:"ciRunURL,omitempty"`
}

// Stage is one planned stage and its progress. Metadata is free-form per
// stage kind (created resources, traffic split, analysis windows and
// results, approvals): string values, structured ones as JSON text.
type Stage struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Status    StageStatus       `json:"status"`
	Reason    string            `json:"reason,omitempty"`
	StartedAt time.Time         `json:"startedAt,omitzero"`
	EndedAt   time.Time         `json:"endedAt,omitzero"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	// Analysis is the progress and outcome of an ANALYSIS stage.
	Analysis *Analysis `json:"analysis,omitempty"`
}

// Event is an audit entry on a record: a lock taken over from this
// deployment, an operator's forced unlock, a resume. Events of the same
// record written concurrently are merged as a set.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Actor   string    `json:"actor,omitempty"`
	Message string    `json:"message,omitempty"`
}

// Event kinds written by this package.
const (
	EventLockTakeover = "lock-takeover"
	EventForceUnlock  = "force-unlock"
)

// Record is one deployment of one application. It is stored as one line of
// JSON in the note attached to Target.Hash in the application's notes ref.
type Record struct {
	SchemaVersion int    `json:"schemaVersion"`
	ID            string `json:"id"`
	// Revision counts the writes of this record; it orders concurrent
	// versions of it (see Winner).
	Revision int    `json:"revision"`
	App      string `json:"app"`
	Kind     string `json:"kind,omitempty"`

	Target  Commit  `json:"target"`
	Running *Commit `json:"running,omitempty"`
	Trigger Trigger `json:"trigger"`

	Strategy       Strategy `json:"strategy,omitempty"`
	StrategyReason string   `json:"strategyReason,omitempty"`
	Stages         []Stage  `json:"stages,omitempty"`

	Status DeploymentStatus `json:"status"`
	Reason string           `json:"reason,omitempty"`

	// LockTakeover is the expired lock this deployment took over, if any.
	LockTakeover *LockInfo `json:"lockTakeover,omitempty"`
	Events       []Event   `json:"events,omitempty"`
	// Notifications is what the notifications of this deployment need to
	// find again (the Slack message a later event updates in place: its
	// channel and ts), by receiver.
	Notifications map[string]string `json:"notifications,omitempty"`

	CreatedAt time.Time `json:"createdAt"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt"`

	// FutureSchema is set when the record was written with a schema newer
	// than this package's: the fields above are what could be read, and
	// the record cannot be updated by this version of pipe.
	FutureSchema bool `json:"-"`
	// raw is the JSON the record was read from; it is written back
	// unchanged while the record is not modified, and its unknown fields
	// are kept when it is.
	raw json.RawMessage
	// edited marks a record to be rendered from its fields rather than raw.
	edited bool
	// unreadable lists fields of raw that could not be decoded.
	unreadable []string
}

// StageMeta is the last non-empty value the record's stages noted under
// key (a platform stage's metadata read by a later stage or the
// rollback); ok is false when none did. A nil record has none.
func (r *Record) StageMeta(key string) (value string, ok bool) {
	if r == nil {
		return "", false
	}
	for _, s := range r.Stages {
		if v := s.Metadata[key]; v != "" {
			value, ok = v, true
		}
	}
	return value, ok
}

// Duration is how long the deployment ran (to now for one still running,
// zero if it has not started).
func (r *Record) Duration(now time.Time) time.Duration {
	start := r.StartedAt
	if start.IsZero() {
		start = r.CreatedAt
	}
	if start.IsZero() {
		return 0
	}
	end := r.EndedAt
	if end.IsZero() {
		if r.Status.IsTerminal() {
			end = r.UpdatedAt
		} else {
			end = now
		}
	}
	if end.Before(start) {
		return 0
	}
	return end.Sub(start)
}

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	c := *r
	if r.Running != nil {
		rc := *r.Running
		c.Running = &rc
	}
	if r.LockTakeover != nil {
		lt := *r.LockTakeover
		c.LockTakeover = &lt
	}
	c.Stages = make([]Stage, len(r.Stages))
	for i, s := range r.Stages {
		c.Stages[i] = s
		if s.Metadata != nil {
			m := make(map[string]string, len(s.Metadata))
			for k, v := range s.Metadata {
				m[k] = v
			}
			c.Stages[i].Metadata = m
		}
		c.Stages[i].Analysis = s.Analysis.Clone()
	}
	if r.Stages == nil {
		c.Stages = nil
	}
	c.Events = append([]Event(nil), r.Events...)
	c.Notifications = maps.Clone(r.Notifications)
	c.raw = append(json.RawMessage(nil), r.raw...)
	return &c
}
