package awsemu

import (
	"crypto/sha256"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Function is a function's $LATEST or one of its published versions, as
// the emulator holds it.
type Function struct {
	Name, ARN, Version, Role, Handler, Runtime, PackageType, ImageURI, CodeSha256 string
	Description                                                                   string
	CodeSize                                                                      int64
	Code                                                                          []byte `json:",omitempty"`
	MemorySize, Timeout, EphemeralStorage                                         int32
	Architectures                                                                 []string
	Environment                                                                   map[string]string
	Tags                                                                          map[string]string
	Layers                                                                        []string
	SubnetIDs, SecurityGroupIDs                                                   []string
	State, StateReason, StateReasonCode                                           string
	LastUpdateStatus, LastUpdateStatusReason, LastUpdateStatusReasonCode          string
	RevisionID                                                                    string
	LastModified                                                                  time.Time
	// Where the code came from; never returned by GetFunction (real AWS
	// doesn't).
	S3Bucket, S3Key, S3ObjectVersion string
}

// Alias is a function alias.
type Alias struct {
	Name, FunctionVersion    string
	Description              string
	AdditionalVersionWeights map[string]float64
	RevisionID, ARN          string
}

// function is a function's whole state. Guarded by Emulator.mu.
type function struct {
	latest   Function
	versions []Function
	aliases  map[string]*Alias
	// The pending transition of $LATEST: creating (State Pending) or
	// updating (LastUpdateStatus InProgress) until until, then failing
	// with failReason when it is not "".
	pending    bool
	creating   bool
	until      time.Time
	failReason string
	// invocations counts Invokes per alias, for the deterministic split.
	invocations map[string]int
}

func (f Function) clone() Function {
	f.Code = slices.Clone(f.Code)
	f.Architectures = slices.Clone(f.Architectures)
	f.Environment = maps.Clone(f.Environment)
	f.Tags = maps.Clone(f.Tags)
	f.Layers = slices.Clone(f.Layers)
	f.SubnetIDs = slices.Clone(f.SubnetIDs)
	f.SecurityGroupIDs = slices.Clone(f.SecurityGroupIDs)
	return f
}

func (a Alias) clone() Alias {
	a.AdditionalVersionWeights = maps.Clone(a.AdditionalVersionWeights)
	return a
}

// fingerprint is what PublishVersion compares to decide whether $LATEST
// changed since the last version.
func (f *Function) fingerprint() string {
	b, _ := json.Marshal([]any{f.CodeSha256, f.ImageURI, f.Role, f.Handler, f.Runtime, f.Description, f.MemorySize, f.Timeout,
		f.EphemeralStorage, f.Architectures, f.Environment, f.Layers, f.SubnetIDs, f.SecurityGroupIDs, f.PackageType})
	sum := sha256.Sum256(b)
	return string(sum[:])
}

// functionARN is the unqualified ARN of name.
func (e *Emulator) functionARN(name string) string {
	return "arn:aws:lambda:" + e.region + ":" + AccountID + ":function:" + name
}

// settle applies the transition of fn that is due. Callers hold e.mu.
func (e *Emulator) settle(fn *function) {
	if !fn.pending || e.now().Before(fn.until) {
		return
	}
	fn.pending = false
	l := &fn.latest
	if fn.failReason != "" {
		if fn.creating {
			l.State, l.StateReason, l.StateReasonCode = "Failed", fn.failReason, "InternalError"
		}
		l.LastUpdateStatus, l.LastUpdateStatusReason, l.LastUpdateStatusReasonCode = "Failed", fn.failReason, "InternalError"
	} else {
		l.State, l.StateReason, l.StateReasonCode = "Active", "", ""
		l.LastUpdateStatus, l.LastUpdateStatusReason, l.LastUpdateStatusReasonCode = "Successful", "", ""
	}
	fn.failReason = ""
	l.RevisionID = e.uuid()
}

// startTransition puts $LATEST in Pending (create) or InProgress (update)
// for the update delay, taking the failure FailNextUpdate injected. Callers
// hold e.mu.
func (e *Emulator) startTransition(fn *function, creating bool) {
	l := &fn.latest
	fn.pending, fn.creating = true, creating
	fn.until = e.now().Add(e.delay)
	fn.failReason = e.failNext[l.Name]
	delete(e.failNext, l.Name)
	if creating {
		l.State, l.StateReason, l.StateReasonCode = "Pending", "The function is being created.", "Creating"
		l.LastUpdateStatus, l.LastUpdateStatusReason, l.LastUpdateStatusReasonCode = "", "", ""
	} else {
		l.LastUpdateStatus, l.LastUpdateStatusReason, l.LastUpdateStatusReasonCode = "InProgress", "The function is being updated.", ""
	}
	l.LastModified = e.now()
	l.RevisionID = e.uuid()
}

// lookup returns the function named name after settling it. Callers hold
// e.mu.
func (e *Emulator) lookup(name string) *function {
	fn := e.functions[name]
	if fn != nil {
		e.settle(fn)
	}
	return fn
}

// Function returns the $LATEST state of the function name, a copy.
func (e *Emulator) Function(name string) (Function, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn := e.lookup(name)
	if fn == nil {
		return Function{}, false
	}
	return fn.latest.clone(), true
}

// Versions returns the published versions of name, in order.
func (e *Emulator) Versions(name string) []Function {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn := e.lookup(name)
	if fn == nil {
		return nil
	}
	out := make([]Function, len(fn.versions))
	for i, v := range fn.versions {
		out[i] = v.clone()
	}
	return out
}

// Alias returns an alias of function.
func (e *Emulator) Alias(function, alias string) (Alias, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn := e.lookup(function)
	if fn == nil || fn.aliases[alias] == nil {
		return Alias{}, false
	}
	return fn.aliases[alias].clone(), true
}

// Aliases returns the aliases of function, sorted by name.
func (e *Emulator) Aliases(function string) []Alias {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn := e.lookup(function)
	if fn == nil {
		return nil
	}
	return sortedAliases(fn)
}

func sortedAliases(fn *function) []Alias {
	names := slices.Sorted(maps.Keys(fn.aliases))
	out := make([]Alias, 0, len(names))
	for _, n := range names {
		out = append(out, fn.aliases[n].clone())
	}
	return out
}

// SetEnvironment changes $LATEST's environment variable k as an
// out-of-band console change would (a new RevisionId, nothing else); v ""
// removes it.
func (e *Emulator) SetEnvironment(function, k, v string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn := e.lookup(function)
	if fn == nil {
		return false
	}
	if fn.latest.Environment == nil {
		fn.latest.Environment = map[string]string{}
	}
	if v == "" {
		delete(fn.latest.Environment, k)
	} else {
		fn.latest.Environment[k] = v
	}
	fn.latest.LastModified = e.now()
	fn.latest.RevisionID = e.uuid()
	return true
}

// State is the whole Lambda state, as GET /_awsemu/state returns it.
type State struct {
	Functions []FunctionState `json:"functions"`
}

// FunctionState is one function in State.
type FunctionState struct {
	Latest   Function   `json:"latest"`
	Versions []Function `json:"versions"`
	Aliases  []Alias    `json:"aliases"`
}

// Snapshot returns the whole Lambda state (code bytes left out).
func (e *Emulator) Snapshot() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	var s State
	names := make([]string, 0, len(e.functions))
	for n := range e.functions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fn := e.lookup(n)
		fs := FunctionState{Latest: fn.latest.clone(), Versions: []Function{}, Aliases: sortedAliases(fn)}
		fs.Latest.Code = nil
		for _, v := range fn.versions {
			v = v.clone()
			v.Code = nil
			fs.Versions = append(fs.Versions, v)
		}
		s.Functions = append(s.Functions, fs)
	}
	return s
}

// versionNumber parses a published version qualifier.
func versionNumber(q string) (int, bool) {
	n, err := strconv.Atoi(q)
	return n, err == nil && n > 0 && strconv.Itoa(n) == q
}
