package insights

import (
	"math"
	"strconv"
)

// formatDuration formats a duration in seconds for a person: at most two
// units, the second left out when it is zero, rounded to the smaller one
// shown: 0s, 45s, 12m, 12m30s, 3h20m, 2d4h, 400d. Days are the largest
// unit (no weeks, months or years, which would be ambiguous). A negative
// duration gets a leading "-"; NaN and ±Inf give "n/a".
func formatDuration(seconds float64) string {
	if math.IsNaN(seconds) || math.IsInf(seconds, 0) {
		return "n/a"
	}
	if seconds < 0 {
		if d := formatDuration(-seconds); d != "0s" {
			return "-" + d
		}
		return "0s"
	}
	two := func(big, small float64, bigUnit, smallUnit string) string {
		s := strconv.FormatFloat(big, 'f', 0, 64) + bigUnit
		if small != 0 {
			s += strconv.FormatFloat(small, 'f', 0, 64) + smallUnit
		}
		return s
	}
	// Round to the smallest unit shown first, so that a carry (59m59.6s)
	// moves up a unit (1h) rather than printing 60m.
	if s := math.Round(seconds); s < 60 {
		return strconv.FormatFloat(s, 'f', 0, 64) + "s"
	} else if s < 3600 {
		return two(math.Floor(s/60), math.Mod(s, 60), "m", "s")
	}
	if m := math.Round(seconds / 60); m < 24*60 {
		return two(math.Floor(m/60), math.Mod(m, 60), "h", "m")
	}
	h := math.Round(seconds / 3600)
	return two(math.Floor(h/24), math.Mod(h, 24), "d", "h")
}
