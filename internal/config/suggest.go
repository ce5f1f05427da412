package config

import (
	"fmt"
	"sort"
	"strings"
)

// didYouMean returns the candidate closest to s when it is a plausible typo:
// equal ignoring case, or within an edit distance that scales with length.
func didYouMean(s string, candidates []string) string {
	best, bestDist := "", 1<<30
	ls := strings.ToLower(s)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if lc == ls {
			return c
		}
		// A truncated or extended name ("KubernetesApplication" for
		// "KubernetesApp") is a near miss whatever its edit distance.
		if len(ls) >= 4 && len(lc) >= 4 && (strings.HasPrefix(ls, lc) || strings.HasPrefix(lc, ls)) {
			return c
		}
		d := levenshtein(ls, strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 2
	if len(s) <= 4 {
		limit = 1
	}
	if len(s) >= 12 {
		limit = 3
	}
	if bestDist <= limit {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// unknownHint builds the hint for an unknown key: a near miss if there is one,
// otherwise the list of allowed keys (shortened when long).
func unknownHint(key string, allowed []string) string {
	if m := didYouMean(key, allowed); m != "" {
		return fmt.Sprintf("did you mean `%s`?", m)
	}
	return allowedList(allowed)
}

func allowedList(allowed []string) string {
	if len(allowed) == 0 {
		return "no fields are allowed here"
	}
	s := append([]string(nil), allowed...)
	sort.Strings(s)
	const max = 12
	if len(s) > max {
		return fmt.Sprintf("allowed: %s, ... (%d more; see `pipe schema`)", strings.Join(s[:max], ", "), len(s)-max)
	}
	return "allowed: " + strings.Join(s, ", ")
}

// enumHint lists the allowed values of an enum, with a near miss first.
func enumHint(got string, allowed []string) string {
	if m := didYouMean(got, allowed); m != "" {
		return fmt.Sprintf("did you mean %q? allowed: %s", m, strings.Join(allowed, ", "))
	}
	return "allowed: " + strings.Join(allowed, ", ")
}
