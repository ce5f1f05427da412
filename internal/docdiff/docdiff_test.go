package docdiff

import (
	"strings"
	"testing"

	"github.com/gitops-pipe/pipe/internal/drift"
)

func TestCompare(t *testing.T) {
	want := map[string]any{
		"desiredCount": 2,
		"cpu":          "256",
		"subnets":      []any{"b", "a"},
		"command":      []any{"run", "--fast"},
		"containers":   []any{map[string]any{"name": "web", "image": "web:v1"}},
		"unset":        "",
	}
	live := map[string]any{
		"DesiredCount": 3.0,
		"Cpu":          256.0,
		"Subnets":      []any{"a", "b"},
		"Command":      []any{"--fast", "run"},
		"Containers":   []any{map[string]any{"Name": "web", "Image": "web:v2", "Essential": true}},
		"Status":       "ACTIVE",
	}
	got := Compare(want, live, Options{Sets: map[string]bool{"subnets": true}})
	var paths []string
	for _, f := range got {
		paths = append(paths, f.Path+"="+f.Op)
	}
	if s := strings.Join(paths, " "); s != "command[0]=changed command[1]=changed containers[name=web].image=changed desiredCount=changed" {
		t.Errorf("diffs %s", s)
	}
	masked := Compare(map[string]any{"env": map[string]any{"TOKEN": "a"}}, map[string]any{"env": map[string]any{"TOKEN": "b"}},
		Options{Show: func(string, any, any) any { return drift.Mask }})
	if len(masked) != 1 || masked[0].Git != drift.Mask || masked[0].Live != drift.Mask {
		t.Errorf("masked %+v", masked)
	}
}

func TestRestrict(t *testing.T) {
	live := map[string]any{"Spec": map[string]any{"Containers": []any{map[string]any{"Image": "x", "Ports": 1}}, "Extra": 1}, "Status": 2}
	got := Restrict(live, map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"image": "y"}}}})
	if Digest(got) != Digest(map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"image": "x"}}}}) {
		t.Errorf("restricted %v", got)
	}
}
