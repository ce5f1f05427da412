package insights

import (
	"math"
	"strings"
	"testing"
)

func TestFormatDuration(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "0s"},
		{0.4, "0s"},
		{0.5, "1s"},
		{45, "45s"},
		{59.4, "59s"},
		{59.6, "1m"}, // carry into minutes
		{60, "1m"},
		{12 * 60, "12m"},
		{12*60 + 30, "12m30s"},
		{3599.4, "59m59s"},
		{3599.6, "1h"}, // carry into hours
		{3600, "1h"},
		{3*3600 + 20*60, "3h20m"},
		{3*3600 + 20*60 + 29, "3h20m"},
		{3*3600 + 20*60 + 31, "3h21m"},
		{2*3600 + 10*60, "2h10m"},
		{24*3600 - 20, "1d"}, // 23h59m40s rounds to 24h: a day
		{24 * 3600, "1d"},
		{28 * 3600, "1d4h"},
		{2*86400 + 4*3600, "2d4h"},
		{2*86400 + 4*3600 + 29*60, "2d4h"},
		{2*86400 + 4*3600 + 31*60, "2d5h"},
		{400 * 86400, "400d"},
		{1e12, "11574074d2h"},
		{-90, "-1m30s"},
		{-0.2, "0s"},
		{math.NaN(), "n/a"},
		{math.Inf(1), "n/a"},
		{math.Inf(-1), "n/a"},
	} {
		if got := formatDuration(c.in); got != c.want {
			t.Errorf("formatDuration(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	// Huge values print in full days, never in exponent form.
	if got := formatDuration(1e20); strings.ContainsAny(got, "e+") || !strings.HasSuffix(got, "h") && !strings.HasSuffix(got, "d") {
		t.Errorf("formatDuration(1e20) = %q", got)
	}
}
