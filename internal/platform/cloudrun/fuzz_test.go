package cloudrun

import "testing"

// FuzzParseManifest: a service manifest from a pull request never panics
// or hangs the parser, whatever it holds.
func FuzzParseManifest(f *testing.F) {
	for _, s := range []string{serviceYAML("gcr.io/p/web:v1", "            - {name: A, value: b}\n"), "a: &a [*a]\n", "{", "- 1\n",
		"apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{image: 1}]}}}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest("service.yaml", data)
		if err == nil {
			_ = revisionName(m, "0123456789abcdef")
			if _, err := m.target("app", "0123456789abcdef", nil); err != nil {
				t.Fatalf("a parsed manifest cannot be applied: %v", err)
			}
		}
	})
}
