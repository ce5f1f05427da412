package lazyre

import (
	"sync"
	"testing"
)

func TestNew(t *testing.T) {
	re := New(`^a(b+)$`)
	if m := re().FindStringSubmatch("abb"); len(m) != 2 || m[1] != "bb" {
		t.Fatalf("FindStringSubmatch = %q", m)
	}
	var wg sync.WaitGroup
	got := make([]any, 8)
	for i := range got {
		wg.Go(func() { got[i] = re() })
	}
	wg.Wait()
	for _, g := range got {
		if g != got[0] || g != any(re()) {
			t.Fatal("New compiled the pattern more than once")
		}
	}
}

func TestNewBadPatternPanicsOnFirstUse(t *testing.T) {
	re := New(`(`) // no panic here
	defer func() {
		if recover() == nil {
			t.Error("a bad pattern did not panic on first use")
		}
	}()
	re()
}
