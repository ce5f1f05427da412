package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitops-pipe/pipe/internal/manifest"
	"github.com/gitops-pipe/pipe/internal/plan"
	"github.com/gitops-pipe/pipe/internal/render"
)

// planObject is one Kubernetes object of a desired or live state, as the
// planner compares it.
type planObject struct {
	// Key is PipeCD's resource key, group:Kind:namespace:name
	// (manifest.Key.String()), with the namespace filled in for namespaced
	// objects and empty for cluster-scoped ones: the rendered object's key,
	// or manifest.KeyOf of an object the API server returned.
	Key    string
	Object *unstructured.Unstructured
	// Source says where a desired object was rendered from (file:line);
	// empty for live objects.
	Source string
}

// planObjectsOfRender adapts rendered manifests to the planner's objects,
// in render order: the key in PipeCD's form, the source as file:line
// (document N). A nil m gives no objects.
func planObjectsOfRender(m *render.Manifests) []planObject {
	if m == nil {
		return nil
	}
	out := make([]planObject, 0, len(m.Objects))
	for _, o := range m.Objects {
		out = append(out, planObject{Key: o.Key.String(), Object: o.Object, Source: o.Source.String()})
	}
	return out
}

// planObjectsOf keys objects returned by the API server with
// manifest.KeyOf (their namespace is set when they are namespaced), which
// gives the keys render gives desired objects.
func planObjectsOf(us []*unstructured.Unstructured) []planObject {
	out := make([]planObject, 0, len(us))
	for _, u := range us {
		if u == nil {
			continue
		}
		out = append(out, planObject{Key: manifest.KeyOf(u).String(), Object: u})
	}
	return out
}

// parseKey parses an object's resource key (the zero key if it is
// malformed, which no rendered or listed object's is).
func parseKey(s string) manifest.Key {
	k, _ := manifest.ParseKey(s)
	return k
}

// liveState is the observed state of an application for a live plan.
type liveState struct {
	// Objects are the application's objects in the cluster.
	Objects []planObject
	// DryRun are the results of a server-side dry-run apply of the desired
	// objects, keyed like them: the desired state with the server's
	// defaults, admission and the fields of other managers.
	DryRun []planObject
}

// newLiveState keys what the cluster returned.
func newLiveState(live, dryRun []*unstructured.Unstructured) *liveState {
	return &liveState{Objects: planObjectsOf(live), DryRun: planObjectsOf(dryRun)}
}

// byKey indexes objects by key; the first object of a key wins.
func byKey(objs []planObject) map[string]planObject {
	m := make(map[string]planObject, len(objs))
	for _, o := range objs {
		if _, dup := m[o.Key]; !dup && o.Object != nil {
			m[o.Key] = o
		}
	}
	return m
}

// desiredDigest fingerprints rendered objects (plan.Fingerprint.Desired):
// their keys and normalised content, in key order. The values of Secrets
// are left out, so that the digest, which is saved in plan files, reveals
// nothing about them; a Secret that changes through a commit changes the
// head commit.
func desiredDigest(objs []planObject) string {
	if len(objs) == 0 {
		return ""
	}
	m := byKey(objs)
	keys := slices.Sorted(maps.Keys(m))
	fields := make([][]byte, 0, 2*len(keys))
	for _, k := range keys {
		obj := manifest.Normalize(m[k].Object)
		if manifest.IsSecret(obj) {
			if data, ok := obj["data"].(map[string]any); ok {
				for dk := range data {
					data[dk] = ""
				}
			}
		}
		b, _ := json.Marshal(obj)
		fields = append(fields, []byte(k), b)
	}
	return plan.Digest(fields...)
}

// liveDigest fingerprints live objects (plan.Fingerprint.Live). An
// object's digest covers what the diff compares (normalised content:
// status and server bookkeeping do not count, so a rollout's status
// updates do not make a plan stale). A Secret's digest is made of its uid
// and resourceVersion instead of its content, so that plan files reveal
// nothing about Secret values; any write to a Secret changes its
// resourceVersion.
func liveDigest(objs []planObject) *plan.LiveFingerprint {
	digests := make(map[string]string, len(objs))
	for k, o := range byKey(objs) {
		var b []byte
		if obj := manifest.Normalize(o.Object); manifest.IsSecret(obj) {
			b = []byte("secret\x00" + string(o.Object.GetUID()) + "\x00" + o.Object.GetResourceVersion())
		} else {
			b, _ = json.Marshal(obj)
		}
		sum := sha256.Sum256(b)
		digests[k] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return plan.NewLiveFingerprint(digests)
}
