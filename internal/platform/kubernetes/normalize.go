package kubernetes

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// Normalize returns a copy of u without what the cluster alone decides and
// what changes with every sync, so that a live object and a dry-run answer
// compare on what the manifests say: status; metadata uid, resourceVersion,
// generation, creationTimestamp, managedFields, selfLink and deletion
// fields; the annotations kubectl.kubernetes.io/last-applied-configuration
// and deployment.kubernetes.io/revision; the pipecd.dev/commit-hash label
// and annotation. Empty labels/annotations maps are dropped.
func Normalize(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	out := u.DeepCopy()
	delete(out.Object, "status")
	md, ok := out.Object["metadata"].(map[string]any)
	if !ok {
		return out
	}
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
		"selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		delete(md, f)
	}
	if ann, ok := md["annotations"].(map[string]any); ok {
		delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
		delete(ann, "deployment.kubernetes.io/revision")
		delete(ann, LabelCommitHash)
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	if l, ok := md["labels"].(map[string]any); ok {
		delete(l, LabelCommitHash)
		if len(l) == 0 {
			delete(md, "labels")
		}
	}
	return out
}
