package execute

import (
	"testing"

	"github.com/gitops-pipe/pipe/internal/state"
)

func TestVariantVersions(t *testing.T) {
	rec := &state.Record{Stages: []state.Stage{
		{ID: "a", Metadata: map[string]string{MetaVariantVersion + "canary": "2", MetaVariantVersion + "primary": "1", "version": "2"}},
		{ID: "b"},
		{ID: "c", Metadata: map[string]string{MetaVariantVersion + "canary": "3", MetaVariantVersion: "x", MetaVariantVersion + "baseline": ""}},
	}}
	got := VariantVersions(rec)
	if len(got) != 2 || got["canary"] != "3" || got["primary"] != "1" {
		t.Errorf("got %v", got)
	}
	if len(VariantVersions(nil)) != 0 {
		t.Error("nil record")
	}
}
