package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels and annotations pipe shares with PipeCD (piped v0 and the pipedv1
// Kubernetes plugin), with PipeCD's values, so that objects deployed by
// either are recognised by the other.
const (
	LabelManagedBy            = "pipecd.dev/managed-by"             // label and annotation: always "piped"
	LabelPiped                = "pipecd.dev/piped"                  // label and annotation: the piped ID, when set
	LabelApplication          = "pipecd.dev/application"            // label and annotation: the application ID
	LabelCommitHash           = "pipecd.dev/commit-hash"            // label and annotation: the deployed commit
	LabelResourceKey          = "pipecd.dev/resource-key"           // annotation: Key.String() of the object
	LabelOriginalAPIVersion   = "pipecd.dev/original-api-version"   // annotation: apiVersion as written in Git
	LabelVariant              = "pipecd.dev/variant"                // annotation: "primary" for a quick sync
	LabelIgnoreDriftDetection = "pipecd.dev/ignore-drift-detection" // annotation "true": drift detection skips it
	LabelSyncReplace          = "pipecd.dev/sync-by-replace"        // annotation "enabled": replace instead of apply
	LabelForceSyncReplace     = "pipecd.dev/force-sync-by-replace"  // annotation "enabled": delete and create
	LabelServerSideApply      = "pipecd.dev/server-side-apply"      // annotation "true": accepted; pipe always applies server-side
	AnnotationConfigHash      = "pipecd.dev/config-hash"            // pod-template annotation: hash of mounted managed config
	AnnotationOrder           = "pipecd.dev/order"                  // annotation: integer, lower applies first

	ManagedByPiped       = "piped"
	VariantPrimary       = "primary"
	UseReplaceEnabled    = "enabled"
	IgnoreDriftDetection = "true"
)

// FieldManager is the server-side apply field manager of every write.
const FieldManager = "pipe"

// App identifies the application whose objects are applied, listed and
// pruned.
type App struct {
	// ID is the application's identity in the cluster: the value of the
	// pipecd.dev/application annotation (and label). For objects PipeCD
	// deployed to be recognised it must be PipeCD's application ID.
	ID string
	// PipedID, when set, is written as pipecd.dev/piped.
	PipedID string
	// CommitHash is the deployed commit (pipecd.dev/commit-hash).
	CommitHash string
	// Variant is the pipecd.dev/variant annotation; "" means "primary".
	Variant string
	// Namespaces, when set, confine the application's namespaced objects to
	// these namespaces: an object with the same ownership labels in another
	// namespace belongs to another deployment of an app with the same name
	// (another repository or environment sharing the cluster), and is never
	// listed, diffed or pruned as this one's. Cluster-scoped objects are
	// always in scope.
	Namespaces []string
}

func (a App) validate() error {
	if a.ID == "" {
		return fmt.Errorf("no application ID")
	}
	return nil
}

// labelValue returns v when it is a valid label value, else a stable
// hashed form of it (label values are at most 63 characters of
// [A-Za-z0-9_.-]); the annotation always holds the exact value, and
// selections check it.
func labelValue(v string) string {
	if len(validation.IsValidLabelValue(v)) == 0 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "h-" + hex.EncodeToString(sum[:])[:40]
}

// Selector is the label selector of the application's objects.
func (a App) Selector() string {
	return LabelManagedBy + "=" + ManagedByPiped + "," + LabelApplication + "=" + labelValue(a.ID)
}

// ownership returns the labels and annotations marking an object with key
// k (written with apiVersion) as the application's.
func (a App) ownership(k Key, apiVersion string) (labels, annotations map[string]string) {
	labels = map[string]string{
		LabelManagedBy:   ManagedByPiped,
		LabelApplication: labelValue(a.ID),
	}
	annotations = map[string]string{
		LabelManagedBy:          ManagedByPiped,
		LabelApplication:        a.ID,
		LabelOriginalAPIVersion: apiVersion,
		LabelResourceKey:        k.String(),
		LabelVariant:            a.Variant,
	}
	if annotations[LabelVariant] == "" {
		annotations[LabelVariant] = VariantPrimary
	}
	if a.PipedID != "" {
		labels[LabelPiped] = labelValue(a.PipedID)
		annotations[LabelPiped] = a.PipedID
	}
	if a.CommitHash != "" {
		labels[LabelCommitHash] = labelValue(a.CommitHash)
		annotations[LabelCommitHash] = a.CommitHash
	}
	return labels, annotations
}

// owns reports whether a live object's labels and annotations say it was
// deployed for this application.
// ownsObject reports whether u is the application's: its ownership labels
// and annotations, and a namespace in the application's scope.
func (a App) ownsObject(u *unstructured.Unstructured) bool {
	return a.owns(u.GetLabels(), u.GetAnnotations()) && a.inScope(u.GetNamespace())
}

func (a App) inScope(namespace string) bool {
	return namespace == "" || len(a.Namespaces) == 0 || slices.Contains(a.Namespaces, namespace)
}

func (a App) owns(labels, annotations map[string]string) bool {
	return labels[LabelManagedBy] == ManagedByPiped &&
		labels[LabelApplication] == labelValue(a.ID) &&
		annotations[LabelManagedBy] == ManagedByPiped &&
		annotations[LabelApplication] == a.ID
}

// annotationEnabled reports whether an annotation holds PipeCD's "enabled"
// (or "true") value.
func annotationEnabled(annotations map[string]string, name string) bool {
	switch strings.ToLower(strings.TrimSpace(annotations[name])) {
	case UseReplaceEnabled, "true":
		return true
	}
	return false
}

// ScopeOf is the namespace scope of an application (App.Namespaces): the
// namespaces its desired objects name, and defaultNamespace, where objects
// that name none go.
func ScopeOf(desired []*unstructured.Unstructured, defaultNamespace string) []string {
	set := map[string]bool{}
	if defaultNamespace != "" {
		set[defaultNamespace] = true
	}
	for _, u := range desired {
		if ns := u.GetNamespace(); ns != "" {
			set[ns] = true
		}
	}
	out := make([]string, 0, len(set))
	for ns := range set {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}
