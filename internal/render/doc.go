// Package render owns turning an application at a revision into its desired
// state, with no network access beyond what the caller injects and no
// external binaries. For Kubernetes applications it renders plain manifests,
// kustomizations (in-process, sigs.k8s.io/kustomize/api) and Helm charts
// (in-process, Helm's engine and chart loader, like `helm template
// --no-hooks --include-crds`) into an ordered list of objects keyed like
// PipeCD's resources (group:Kind:namespace:name), each with the file it
// came from.
//
// Rendering reads a directory tree that the caller prepared (the working
// tree, or a revision checked out to a temporary directory) and never reads
// outside that tree's root: manifests, values files, local charts and
// kustomize bases that resolve outside it, symlinks included, are refused.
// The only ways out are the injected dependencies: an HTTP client (chart
// repositories, OCI registries, remote values files) and a GitFetcher
// (charts in other Git repositories).
//
// Remote charts come from chart repositories (index.yaml; a configured
// name, "@name", "alias:name" or an http(s) URL) and OCI registries
// (oci://host/path, with go-containerregistry); a version is exact, a
// semver constraint, or empty for the newest stable, as in Helm.
// Credentials come from .pipe/config.yaml (chartRepositories,
// chartRegistries: a password is read from its variable or file only when
// a chart of that repository or registry is downloaded) or, for
// registries, the Docker credential file; they never cross the network in
// clear (plain http only to this machine).
//
// Every download goes through the content-addressed cache of
// internal/fetchcache (Renderer.CacheDir), verified on each read: a chart
// of an exact version that is cached is rendered with no network at all,
// so a CI job with a restored cache fetches nothing. Repository indexes,
// the tags of OCI repositories and remote values files are fetched online
// when needed and kept for Renderer.Offline, which renders from the cache
// alone and fails naming what is missing.
package render
