package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Fingerprint identifies what a plan was computed from. `pipe sync --plan`
// computes the current fingerprint and refuses the plan when Verify says
// something changed. Digests are "sha256:<hex>".
type Fingerprint struct {
	// HeadCommit is the hash of the head commit.
	HeadCommit string `json:"headCommit"`
	// Config is the digest of the application config (ConfigDigest).
	Config string `json:"config"`
	// Desired is the digest of the desired state, computed by the platform
	// (e.g. of the rendered objects, or of the changes planned against the
	// live state); empty when not computed. It catches inputs that change
	// without a commit (a chart from a repository, a remote values file).
	Desired string `json:"desired,omitempty"`
	// DesiredChanged is the reason Verify gives when Desired differs, in
	// the platform's terms; empty means the rendered manifests changed.
	DesiredChanged string `json:"desiredChanged,omitempty"`
	// Live is the digest of the live objects a live plan compared against;
	// nil for offline plans.
	Live *LiveFingerprint `json:"live,omitempty"`
}

// LiveFingerprint fingerprints live objects, one digest per object so that
// a stale plan can say which objects changed.
type LiveFingerprint struct {
	// Digest covers every object.
	Digest string `json:"digest"`
	// Objects maps each object's key to its digest.
	Objects map[string]string `json:"objects"`
}

// StaleError says why a saved plan may no longer be applied.
type StaleError struct {
	// Reasons are the differences, each a sentence.
	Reasons []string
}

func (e *StaleError) Error() string {
	return "the plan is stale: " + strings.Join(e.Reasons, "; ")
}

// Verify compares a plan's fingerprint (f) with the current one and
// returns a *StaleError listing every difference, or nil. A field the plan
// did not record is not checked; a live plan needs the current live
// fingerprint.
func (f Fingerprint) Verify(current Fingerprint) error {
	var reasons []string
	if f.HeadCommit != current.HeadCommit {
		reasons = append(reasons, fmt.Sprintf("the plan was made at commit %s, the head is now %s", short(f.HeadCommit), short(current.HeadCommit)))
	}
	if f.Config != current.Config {
		reasons = append(reasons, "the application config changed since the plan was made")
	}
	if f.Desired != "" && current.Desired != "" && f.Desired != current.Desired {
		why := f.DesiredChanged
		if why == "" {
			why = "the rendered manifests changed since the plan was made (a chart or values file from outside the repository may have changed)"
		}
		reasons = append(reasons, why)
	}
	if f.Live != nil {
		switch {
		case current.Live == nil:
			reasons = append(reasons, "the plan was computed against the live cluster, and the live objects were not given to check it")
		case f.Live.Digest != current.Live.Digest:
			reasons = append(reasons, "the live objects changed since the plan was made: "+liveDifference(f.Live.Objects, current.Live.Objects))
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	return &StaleError{Reasons: reasons}
}

// liveDifference lists the objects created, changed and deleted, at most
// five of each kind.
func liveDifference(was, is map[string]string) string {
	created, changed, deleted := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for k, d := range is {
		switch w, ok := was[k]; {
		case !ok:
			created[k] = true
		case w != d:
			changed[k] = true
		}
	}
	for k := range was {
		if _, ok := is[k]; !ok {
			deleted[k] = true
		}
	}
	var parts []string
	for _, g := range []struct {
		what string
		keys map[string]bool
	}{{"changed", changed}, {"created", created}, {"deleted", deleted}} {
		if len(g.keys) == 0 {
			continue
		}
		keys := sortedKeys(g.keys)
		more := ""
		if len(keys) > 5 {
			more = fmt.Sprintf(" and %d more", len(keys)-5)
			keys = keys[:5]
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s%s)", len(g.keys), g.what, strings.Join(keys, ", "), more))
	}
	if len(parts) == 0 {
		return "their digests differ"
	}
	return strings.Join(parts, ", ")
}

func short(h string) string {
	if h == "" {
		return "(none)"
	}
	return Commit{Hash: h}.Short()
}

// ConfigDigest fingerprints an application config: its identity and its
// decoded spec (defaults applied), so formatting and comments do not
// count. shared are other files the plan depends on (e.g. the .pipe/
// AnalysisTemplate), as bytes; their order matters.
func ConfigDigest(app *config.App, shared ...[]byte) (string, error) {
	spec, err := json.Marshal(app.Spec)
	if err != nil {
		return "", fmt.Errorf("fingerprint of the config of %s: %w", app.Name, err)
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(app.Name), []byte(app.Kind), []byte(app.Dir), spec} {
		writeField(h, part)
	}
	for _, s := range shared {
		writeField(h, s)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Digest digests fields as the fingerprints do: each field length-prefixed,
// so that field boundaries are part of the digest, the whole as
// "sha256:<hex>". Platforms digest their desired state with it.
func Digest(fields ...[]byte) string {
	h := sha256.New()
	for _, f := range fields {
		writeField(h, f)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// NewLiveFingerprint fingerprints live objects from the digest of each,
// keyed by the object's key: Digest covers every key and its digest, in
// key order. What an object's digest covers is the platform's to say.
func NewLiveFingerprint(objects map[string]string) *LiveFingerprint {
	if objects == nil {
		objects = map[string]string{}
	}
	keys := make([]string, 0, len(objects))
	for k := range objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fields := make([][]byte, 0, 2*len(keys))
	for _, k := range keys {
		fields = append(fields, []byte(k), []byte(objects[k]))
	}
	return &LiveFingerprint{Digest: Digest(fields...), Objects: objects}
}

// writeField writes a length-prefixed field, so that field boundaries are
// part of the digest.
func writeField(h interface{ Write([]byte) (int, error) }, b []byte) {
	fmt.Fprintf(h, "%d:", len(b))
	h.Write(b)
}
