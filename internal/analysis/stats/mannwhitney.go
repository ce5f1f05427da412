// Package stats holds the dependency-free statistics the analysis judges use.
//
// MannWhitneyU follows scipy.stats.mannwhitneyu (method='auto',
// use_continuity=True): the statistic is the U of the first sample, the exact
// null distribution is used when there are no ties and at least one sample has
// 8 points or fewer, and the normal approximation with tie and continuity
// corrections otherwise.
package stats

import (
	"fmt"
	"math"
	"sort"
)

// Alternative is the alternative hypothesis of a test.
type Alternative int

const (
	// TwoSided: the distributions of x and y differ.
	TwoSided Alternative = iota
	// Greater: x tends to be larger than y (x is stochastically greater).
	Greater
	// Less: x tends to be smaller than y (x is stochastically less).
	Less
)

// String renders the alternative as scipy and R name it.
func (a Alternative) String() string {
	switch a {
	case TwoSided:
		return "two-sided"
	case Greater:
		return "greater"
	case Less:
		return "less"
	}
	return fmt.Sprintf("Alternative(%d)", int(a))
}

// exactMaxSmall is the largest size of the smaller sample for which the exact
// distribution is used (scipy: "the size of one of the samples is less than or
// equal to 8").
const exactMaxSmall = 8

// exactMaxProduct bounds nx*ny for the exact distribution: the distribution
// table holds nx*ny+1 float64 values (8 MB at the bound). Beyond it the normal
// approximation is used; scipy has no such bound, but a sample of 8 against
// 125000 points never occurs in an analysis stage.
const exactMaxProduct = 1_000_000

// MannWhitneyResult is the outcome of a Mann-Whitney U test.
type MannWhitneyResult struct {
	// U is the statistic of x: the number of pairs (xi, yj) with xi > yj,
	// ties counting one half. The U of y is NX*NY - U.
	U float64 `json:"u"`
	// P is the p-value for the alternative, in [0, 1].
	P float64 `json:"p"`
	// Exact is true when P comes from the exact null distribution, false when
	// it comes from the normal approximation.
	Exact bool `json:"exact"`
	// NX and NY are the sample sizes.
	NX int `json:"nx"`
	NY int `json:"ny"`
	// Ties is true when a value occurs more than once in the pooled sample.
	Ties bool `json:"ties"`
	// Z is the standardised statistic of the normal approximation (with the
	// continuity correction, oriented like scipy: towards the tail of the
	// alternative). It is 0 when Exact is true or the variance is 0.
	Z float64 `json:"z"`
}

// MannWhitneyU runs the two-sample Mann-Whitney U (Wilcoxon rank-sum) test of
// x against y for the alternative alt, like scipy.stats.mannwhitneyu with
// method='auto' and use_continuity=True. It fails on an empty sample, a NaN or
// infinite value, or an unknown alternative.
func MannWhitneyU(x, y []float64, alt Alternative) (MannWhitneyResult, error) {
	return mannWhitneyU(x, y, alt, methodAuto, true)
}

type method int

const (
	methodAuto method = iota
	methodExact
	methodAsymptotic
)

func mannWhitneyU(x, y []float64, alt Alternative, m method, continuity bool) (MannWhitneyResult, error) {
	if alt != TwoSided && alt != Greater && alt != Less {
		return MannWhitneyResult{}, fmt.Errorf("mann-whitney: unknown alternative %d: use TwoSided, Greater or Less", int(alt))
	}
	if len(x) == 0 || len(y) == 0 {
		return MannWhitneyResult{}, fmt.Errorf("mann-whitney: sample x has %d values and sample y has %d: both samples need at least one value", len(x), len(y))
	}
	if err := checkFinite("x", x); err != nil {
		return MannWhitneyResult{}, err
	}
	if err := checkFinite("y", y); err != nil {
		return MannWhitneyResult{}, err
	}
	nx, ny := len(x), len(y)
	ranks, tieSizes := rankPooled(x, y)
	r1 := 0.0
	for _, r := range ranks[:nx] {
		r1 += r
	}
	u1 := r1 - float64(nx)*float64(nx+1)/2
	// Average ranks are multiples of 1/2, so U is exact in float64; round away
	// any accumulated error before the exact path converts it to an integer.
	u1 = math.Round(u1*2) / 2
	mn := float64(nx) * float64(ny)
	u2 := mn - u1
	res := MannWhitneyResult{U: u1, NX: nx, NY: ny, Ties: len(tieSizes) > 0}

	// U is the statistic whose upper tail is the p-value; f doubles it for the
	// two-sided test.
	var u, f float64
	switch alt {
	case Greater:
		u, f = u1, 1
	case Less:
		u, f = u2, 1
	default:
		u, f = math.Max(u1, u2), 2
	}

	if m == methodAuto {
		m = chooseMethod(nx, ny, res.Ties)
	}
	var p float64
	if m == methodExact {
		res.Exact = true
		p = exactSF(nx, ny, int(u))
	} else {
		p, res.Z = normalSF(u, nx, ny, tieSizes, continuity)
	}
	res.P = clamp01(p * f)
	return res, nil
}

func chooseMethod(nx, ny int, ties bool) method {
	if ties || (nx > exactMaxSmall && ny > exactMaxSmall) || nx*ny > exactMaxProduct {
		return methodAsymptotic
	}
	return methodExact
}

func checkFinite(name string, v []float64) error {
	for i, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("mann-whitney: sample %s value %d of %d is %v: the test needs finite numbers; drop or fix the value before testing", name, i+1, len(v), f)
		}
	}
	return nil
}

// rankPooled ranks the pooled sample x ++ y (average ranks for ties, 1-based)
// and returns the ranks in pooled order and the sizes of the tie groups of
// more than one value.
func rankPooled(x, y []float64) ([]float64, []int) {
	n := len(x) + len(y)
	vals := make([]float64, 0, n)
	vals = append(vals, x...)
	vals = append(vals, y...)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return vals[idx[a]] < vals[idx[b]] })
	ranks := make([]float64, n)
	var ties []int
	for i := 0; i < n; {
		j := i + 1
		for j < n && vals[idx[j]] == vals[idx[i]] {
			j++
		}
		// Positions i..j-1 hold ranks i+1..j; their average is (i+1+j)/2.
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			ranks[idx[k]] = avg
		}
		if j-i > 1 {
			ties = append(ties, j-i)
		}
		i = j
	}
	return ranks, ties
}

// normalSF is the upper-tail probability of u under the normal approximation
// with the tie correction and, if continuity, the continuity correction (0.5
// subtracted from u - mean, as scipy does). It returns the probability and z.
func normalSF(u float64, nx, ny int, tieSizes []int, continuity bool) (float64, float64) {
	n := float64(nx + ny)
	mn := float64(nx) * float64(ny)
	mu := mn / 2
	tieTerm := 0.0
	for _, t := range tieSizes {
		ft := float64(t)
		tieTerm += ft*ft*ft - ft
	}
	variance := mn / 12 * ((n + 1) - tieTerm/(n*(n-1)))
	// The variance is 0 only when every pooled value is the same (then
	// U = mean): nothing separates the samples. scipy gets sf(-inf) = 1 here;
	// compute it without dividing by zero. A rounding residue must not turn
	// into a huge z either.
	if !(variance > 1e-9*mn) {
		return 1, 0
	}
	num := u - mu
	if continuity {
		num -= 0.5
	}
	z := num / math.Sqrt(variance)
	return 0.5 * math.Erfc(z/math.Sqrt2), z
}

// exactSF is P(U >= u) under the null hypothesis for samples of sizes nx and
// ny without ties.
func exactSF(nx, ny, u int) float64 {
	if u <= 0 {
		return 1
	}
	if u > nx*ny {
		return 0
	}
	pmf := exactPMF(nx, ny)
	// Sum the smaller tail for accuracy; the distribution is symmetric around
	// nx*ny/2 so P(U >= u) = P(U <= nx*ny - u).
	lo := nx*ny - u
	if lo < u {
		s := 0.0
		for k := 0; k <= lo; k++ {
			s += pmf[k]
		}
		return s
	}
	s := 0.0
	for k := 0; k < u; k++ {
		s += pmf[k]
	}
	return 1 - s
}

// exactPMF is the null distribution of U for sizes m and n: pmf[k] = P(U = k),
// k = 0..m*n. The number of arrangements with U = k is the coefficient of q^k
// of the Gaussian binomial [m+n choose m]_q = prod_{i=1..s} (1-q^(l+i))/(1-q^i)
// with s = min(m, n) and l = max(m, n). It is built one factor at a time:
// after factor i the coefficients are those of [l+i choose i]_q, which are
// non-negative counts, so nothing cancels catastrophically.
func exactPMF(m, n int) []float64 {
	s, l := m, n
	if s > l {
		s, l = l, s
	}
	deg := s * l
	c := make([]float64, deg+1)
	c[0] = 1
	cur := 0 // degree of the current polynomial, i*l after factor i
	for i := 1; i <= s; i++ {
		// Multiply by (1 - q^(l+i)).
		k := l + i
		newDeg := cur + k // (i-1)*l + l + i <= deg + i
		tmp := make([]float64, newDeg+1)
		copy(tmp, c[:cur+1])
		for d := cur; d >= 0; d-- {
			tmp[d+k] -= c[d]
		}
		// Divide by (1 - q^i): the quotient satisfies b[d] = a[d] + b[d-i].
		for d := i; d <= newDeg; d++ {
			tmp[d] += tmp[d-i]
		}
		cur = newDeg - i
		for d := 0; d <= cur; d++ {
			v := tmp[d]
			if v < 0 { // rounding residue of a count that is exactly 0
				v = 0
			}
			c[d] = v
		}
	}
	total := 0.0
	for _, v := range c {
		total += v
	}
	for i := range c {
		c[i] /= total
	}
	return c
}

// MinExactP is the smallest p-value the exact test can produce for samples of
// sizes nx and ny without ties: 1/C(nx+ny, nx) one-sided, twice that
// two-sided. When it is not below a significance level the test cannot reject
// at that level whatever the data.
func MinExactP(nx, ny int, alt Alternative) float64 {
	if nx <= 0 || ny <= 0 {
		return 1
	}
	p := 1 / binomial(nx+ny, min(nx, ny))
	if alt == TwoSided {
		p *= 2
	}
	return clamp01(p)
}

// binomial is C(n, k) for 0 <= k <= n: exact while it fits the 53 bits of a
// float64 (each partial product C(n-k+i, i) is an integer), then rounded;
// +Inf beyond the float64 range, which makes 1/C exactly 0.
func binomial(n, k int) float64 {
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
	}
	return c
}

func clamp01(p float64) float64 {
	switch {
	case p < 0:
		return 0
	case p > 1:
		return 1
	}
	return p
}
