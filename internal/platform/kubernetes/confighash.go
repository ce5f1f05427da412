package kubernetes

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// podTemplatePath is where a workload kind keeps its pod template, for the
// kinds whose template may change in place. A Job's template is immutable,
// so Jobs get no config hash.
func podTemplatePath(group, kind string) []string {
	switch {
	case group == "apps" && (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet"),
		group == "" && kind == "ReplicationController":
		return []string{"spec", "template"}
	case group == "batch" && kind == "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template"}
	}
	return nil
}

// configRefs are the ConfigMaps and Secrets a pod spec reads: volumes
// (including projected sources), env valueFrom and envFrom of containers and
// init containers.
type configRefs struct {
	configMaps, secrets map[string]bool
}

func podConfigRefs(podSpec map[string]any) configRefs {
	refs := configRefs{configMaps: map[string]bool{}, secrets: map[string]bool{}}
	str := func(m map[string]any, fields ...string) string {
		s, _, _ := unstructured.NestedString(m, fields...)
		return s
	}
	add := func(set map[string]bool, name string) {
		if name != "" {
			set[name] = true
		}
	}
	for _, v := range slice(podSpec, "volumes") {
		add(refs.configMaps, str(v, "configMap", "name"))
		add(refs.secrets, str(v, "secret", "secretName"))
		proj, _, _ := unstructured.NestedMap(v, "projected")
		for _, s := range slice(proj, "sources") {
			add(refs.configMaps, str(s, "configMap", "name"))
			add(refs.secrets, str(s, "secret", "name"))
		}
	}
	for _, field := range []string{"initContainers", "containers"} {
		for _, c := range slice(podSpec, field) {
			for _, e := range slice(c, "env") {
				add(refs.configMaps, str(e, "valueFrom", "configMapKeyRef", "name"))
				add(refs.secrets, str(e, "valueFrom", "secretKeyRef", "name"))
			}
			for _, e := range slice(c, "envFrom") {
				add(refs.configMaps, str(e, "configMapRef", "name"))
				add(refs.secrets, str(e, "secretRef", "name"))
			}
		}
	}
	return refs
}

// slice returns the maps of a list field; other items are skipped.
func slice(m map[string]any, field string) []map[string]any {
	if m == nil {
		return nil
	}
	l, _ := m[field].([]any)
	out := make([]map[string]any, 0, len(l))
	for _, it := range l {
		if mm, ok := it.(map[string]any); ok {
			out = append(out, mm)
		}
	}
	return out
}

// annotateConfigHash sets the pipecd.dev/config-hash annotation on the pod
// template of every workload that reads a ConfigMap or Secret of objs (same
// namespace), so that a change of that config rolls the workload's pods.
// The hash is PipeCD's (kubectl's hash of ConfigMaps and Secrets: kind, name,
// data, binaryData, type, immutable), so objects PipeCD deployed keep their
// hash; a Secret's stringData counts as data, as the apiserver merges it.
// Objects must be namespaced already.
func annotateConfigHash(objs []*unstructured.Unstructured) error {
	type nsName struct{ ns, name string }
	configMaps := map[nsName]*unstructured.Unstructured{}
	secrets := map[nsName]*unstructured.Unstructured{}
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		if gvk.Group != "" {
			continue
		}
		switch gvk.Kind {
		case "ConfigMap":
			configMaps[nsName{u.GetNamespace(), u.GetName()}] = u
		case "Secret":
			secrets[nsName{u.GetNamespace(), u.GetName()}] = u
		}
	}
	if len(configMaps)+len(secrets) == 0 {
		return nil
	}
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		path := podTemplatePath(gvk.Group, gvk.Kind)
		if path == nil {
			continue
		}
		podSpec, _, _ := unstructured.NestedMap(u.Object, append(path, "spec")...)
		refs := podConfigRefs(podSpec)
		var cfgs []*unstructured.Unstructured
		for _, name := range sortedKeys(refs.configMaps) {
			if cm := configMaps[nsName{u.GetNamespace(), name}]; cm != nil {
				cfgs = append(cfgs, cm)
			}
		}
		for _, name := range sortedKeys(refs.secrets) {
			if s := secrets[nsName{u.GetNamespace(), name}]; s != nil {
				cfgs = append(cfgs, s)
			}
		}
		if len(cfgs) == 0 {
			continue
		}
		hash, err := configHash(cfgs)
		if err != nil {
			return err
		}
		annPath := append(append([]string{}, path...), "metadata", "annotations")
		ann, _, _ := unstructured.NestedStringMap(u.Object, annPath...)
		if ann == nil {
			ann = map[string]string{}
		}
		ann[AnnotationConfigHash] = hash
		if err := unstructured.SetNestedStringMap(u.Object, ann, annPath...); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// configHash is PipeCD's HashManifests for ConfigMaps and Secrets.
func configHash(cfgs []*unstructured.Unstructured) (string, error) {
	h := sha256.New()
	for _, u := range cfgs {
		var m map[string]any
		switch u.GetKind() {
		case "ConfigMap":
			m = map[string]any{"kind": "ConfigMap", "name": u.GetName(), "data": u.Object["data"]}
			if v, ok := u.Object["immutable"]; ok && v != nil {
				m["immutable"] = v
			}
			if bd, ok := u.Object["binaryData"].(map[string]any); ok && len(bd) > 0 {
				m["binaryData"] = canonicalBase64(bd)
			}
		case "Secret":
			typ, _ := u.Object["type"].(string)
			var data any
			if d, ok := u.Object["data"].(map[string]any); ok {
				data = canonicalBase64(d)
			}
			if sd, ok := u.Object["stringData"].(map[string]any); ok && len(sd) > 0 {
				merged, _ := data.(map[string]any)
				if merged == nil {
					merged = map[string]any{}
				}
				for k, v := range sd {
					s, _ := v.(string)
					merged[k] = base64.StdEncoding.EncodeToString([]byte(s))
				}
				data = merged
			}
			m = map[string]any{"kind": "Secret", "type": typ, "name": u.GetName(), "data": data}
			if v, ok := u.Object["immutable"]; ok && v != nil {
				m["immutable"] = v
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return encodeHash(hex.EncodeToString(h.Sum(nil))), nil
}

// canonicalBase64 re-encodes base64 values the way encoding/json encodes
// []byte, as PipeCD's typed conversion does.
func canonicalBase64(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		s, _ := v.(string)
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			s = base64.StdEncoding.EncodeToString(b)
		}
		out[k] = s
	}
	return out
}

// encodeHash is kubectl's: the first 10 hex characters, with vowel-like
// characters mapped to consonants.
func encodeHash(hex string) string {
	enc := []byte(hex[:10])
	for i, c := range enc {
		switch c {
		case '0':
			enc[i] = 'g'
		case '1':
			enc[i] = 'h'
		case '3':
			enc[i] = 'k'
		case 'a':
			enc[i] = 'm'
		case 'e':
			enc[i] = 't'
		}
	}
	return string(enc)
}
