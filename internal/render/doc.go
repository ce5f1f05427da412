// Package render owns turning an application at a revision into its desired
// state, with no network access beyond what the caller injects and no
// external binaries. For Kubernetes applications it renders plain manifests,
// kustomizations (in-process, sigs.k8s.io/kustomize/api) and Helm charts
// (in-process, the Helm SDK, like `helm template --no-hooks --include-crds`)
// into an ordered list of objects keyed like PipeCD's resources
// (group:Kind:namespace:name), each with the file it came from.
//
// Rendering reads a directory tree that the caller prepared (the working
// tree, or a revision checked out to a temporary directory) and never reads
// outside that tree's root: manifests, values files, local charts and
// kustomize bases that resolve outside it, symlinks included, are refused.
// The only ways out are the injected dependencies: an HTTP client (chart
// repositories, remote values files) and a GitFetcher (charts in other Git
// repositories).
package render
