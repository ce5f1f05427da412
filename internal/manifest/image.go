package manifest

import "strings"

// ParseImage splits an image reference into the last element of its
// repository path and its tag: "gcr.io/pipecd/helloworld:v1.0.0" is
// helloworld and v1.0.0. A registry port is not a tag
// ("localhost:5000/web" is web, latest); a digest is shown shortened
// ("sha256:0123456789ab"). PipeCD splits on every ":" instead, which
// loses the tag when the registry has a port. The platforms name the
// versions they deploy with it.
func ParseImage(ref string) (name, tag string) {
	var digest string
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	repo := ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, tag = ref[:i], ref[i+1:]
	}
	name = repo[strings.LastIndex(repo, "/")+1:]
	switch {
	case digest != "":
		if algo, hex, ok := strings.Cut(digest, ":"); ok && len(hex) > 12 {
			digest = algo + ":" + hex[:12]
		}
		if tag != "" {
			tag += "@" + digest
		} else {
			tag = digest
		}
	case tag == "":
		tag = "latest"
	}
	return name, tag
}
