package state

import "testing"

func TestStageMeta(t *testing.T) {
	r := &Record{Stages: []Stage{
		{ID: "a", Metadata: map[string]string{"k": "1", "e": ""}},
		{ID: "b"},
		{ID: "c", Metadata: map[string]string{"k": "2"}},
	}}
	if v, ok := r.StageMeta("k"); !ok || v != "2" {
		t.Errorf("k = %q %v, want the last stage's", v, ok)
	}
	for _, key := range []string{"e", "missing"} {
		if v, ok := r.StageMeta(key); ok || v != "" {
			t.Errorf("%s = %q %v", key, v, ok)
		}
	}
	if _, ok := (*Record)(nil).StageMeta("k"); ok {
		t.Error("a nil record has no metadata")
	}
}
