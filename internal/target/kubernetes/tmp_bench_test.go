package kubernetes

import (
	"context"
	"testing"
	"time"
)

func BenchmarkTmpParts(b *testing.B) {
	cl := newClient(b, "default", Options{})
	ns, done := benchNamespace(b, cl, "bench-parts")
	defer done()
	ctx := context.Background()
	res, err := cl.Apply(ctx, benchApp(b, ns, "1"), ApplyOptions{App: benchApp300})
	if err != nil {
		b.Fatal(err)
	}
	_ = cl.Wait(ctx, res.Keys(), WaitOptions{App: benchApp300, Timeout: 5 * time.Minute})
	head := benchApp(b, ns, "1")
	for _, conc := range []int{1, 4, 16, 32} {
		cl := newClient(b, "default", Options{Concurrency: conc})
		b.Run("dryrun-"+itoa(conc), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := cl.DryRun(ctx, head, DryRunOptions{App: benchApp300}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("live-"+itoa(conc), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := cl.Live(ctx, benchApp300, LiveOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("prepare", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := cl.Prepare(ctx, head, benchApp300); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }
