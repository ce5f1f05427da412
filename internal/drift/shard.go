package drift

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/gitops-pipe/pipe/internal/config"
)

// Shard is one of N parts of the applications (`--shard i/n`, i from 1),
// for spreading a repository's check over parallel CI jobs. An application
// belongs to one shard by a hash of its name, so adding an application
// moves no other.
type Shard struct{ Index, Count int }

// ParseShard parses "i/n" with 1 ≤ i ≤ n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("invalid shard %q: want i/n with 1 ≤ i ≤ n (e.g. 2/4)", s)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Has reports whether the application named name is in the shard.
func (s Shard) Has(name string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum32()%uint32(s.Count)) == s.Index-1
}

// Select keeps the applications of the shard.
func (s Shard) Select(apps []*config.App) []*config.App {
	var out []*config.App
	for _, a := range apps {
		if s.Has(a.Name) {
			out = append(out, a)
		}
	}
	return out
}
