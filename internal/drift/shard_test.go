package drift

import (
	"fmt"
	"testing"

	"github.com/gitops-pipe/pipe/internal/config"
)

func TestShard(t *testing.T) {
	for _, bad := range []string{"", "1", "0/2", "3/2", "a/b", "1/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	var apps []*config.App
	for i := 0; i < 200; i++ {
		apps = append(apps, &config.App{Name: fmt.Sprintf("app-%d", i)})
	}
	seen := map[string]int{}
	for i := 1; i <= 4; i++ {
		s, err := ParseShard(fmt.Sprintf("%d/4", i))
		if err != nil {
			t.Fatal(err)
		}
		part := s.Select(apps)
		if len(part) < 20 {
			t.Errorf("shard %s has %d of 200 apps", s, len(part))
		}
		for _, a := range part {
			seen[a.Name]++
		}
	}
	for _, a := range apps {
		if seen[a.Name] != 1 {
			t.Fatalf("%s is in %d shards", a.Name, seen[a.Name])
		}
	}
	if all := (Shard{}).Select(apps); len(all) != 200 {
		t.Fatalf("no shard keeps %d apps", len(all))
	}
}
