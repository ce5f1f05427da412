// Package manifest is what pipe knows about Kubernetes objects as data,
// independently of any cluster: how an object is identified (Key), how two
// versions of an object are brought to a comparable form (Normalize), how
// they are compared (Equal, Compare) and how a change is shown (Diff).
//
// The planner (internal/plan), the Kubernetes platform's live plan, its
// unchanged check and drift detection (internal/platform/kubernetes) all
// use these, so that "changed" means the same thing everywhere.
//
// The package is a leaf: it imports the Kubernetes apimachinery, YAML and
// diff libraries and the standard library, never another pipe package.
package manifest
