package insights

// The DORA performance bands, as thresholds made from the clusters of the
// 2023 Accelerate State of DevOps report (docs/insights.md): a metric is
// in the best band whose threshold it meets.
const (
	day  = 24 * 3600.0
	week = 7 * day
)

// frequencyBand: elite deploys daily or more (on demand), high at least
// weekly, medium at least monthly, low less often.
func frequencyBand(perDay float64) Band {
	switch {
	case perDay >= 1:
		return BandElite
	case perDay >= 1.0/7:
		return BandHigh
	case perDay >= 1.0/30:
		return BandMedium
	}
	return BandLow
}

// leadTimeBand (median seconds): elite under a day, high under a week,
// medium under a month, low beyond.
func leadTimeBand(median float64) Band {
	switch {
	case median < day:
		return BandElite
	case median < week:
		return BandHigh
	case median < 30*day:
		return BandMedium
	}
	return BandLow
}

// failureBand: elite at most 5%, high at most 10%, medium at most 15%,
// low above.
func failureBand(rate float64) Band {
	switch {
	case rate <= 0.05:
		return BandElite
	case rate <= 0.10:
		return BandHigh
	case rate <= 0.15:
		return BandMedium
	}
	return BandLow
}

// restoreBand (median seconds): elite under an hour, high under a day,
// medium under a week, low beyond.
func restoreBand(median float64) Band {
	switch {
	case median < 3600:
		return BandElite
	case median < day:
		return BandHigh
	case median < week:
		return BandMedium
	}
	return BandLow
}
