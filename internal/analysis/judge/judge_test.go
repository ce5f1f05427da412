package judge

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	cases := []struct {
		name string
		in   []float64
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"one", []float64{4}, Summary{N: 1, Min: 4, Max: 4, Mean: 4, Median: 4, Last: 4}},
		{"odd", []float64{3, 1, 2}, Summary{N: 3, Min: 1, Max: 3, Mean: 2, Median: 2, Last: 2}},
		{"even", []float64{4, 1, 3, 2}, Summary{N: 4, Min: 1, Max: 4, Mean: 2.5, Median: 2.5, Last: 2}},
		{"non-finite left out", []float64{1, math.NaN(), 3, math.Inf(1)}, Summary{N: 4, NonFinite: 2, Min: 1, Max: 3, Mean: 2, Median: 2, Last: 3}},
		{"only non-finite", []float64{math.NaN(), math.Inf(-1)}, Summary{N: 2, NonFinite: 2}},
		{"huge values", []float64{math.MaxFloat64, math.MaxFloat64}, Summary{N: 2, Min: math.MaxFloat64, Max: math.MaxFloat64, Mean: math.MaxFloat64, Median: math.MaxFloat64, Last: math.MaxFloat64}},
	}
	for _, c := range cases {
		got := Summarize(c.in)
		if !near(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("%s: does not encode: %v", c.name, err)
		}
	}
	in := []float64{3, 1, 2}
	Summarize(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("Summarize reordered its input: %v", in)
	}
}

func TestVerdictJSON(t *testing.T) {
	ctl := Summary{N: 2, Min: 1, Max: 2, Mean: 1.5, Median: 1.5, Last: 2}
	v := Verdict{Pass: true, Rule: RuleThreshold, Reason: "r", PValue: math.NaN(), Values: Summary{N: 1, Min: 1, Max: 1, Mean: 1, Median: 1, Last: 1}}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"pass":true,"rule":"threshold","reason":"r","pValue":null,"values":{"n":1,"min":1,"max":1,"mean":1,"median":1,"last":1}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back Verdict
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(back.PValue) || back.Reason != "r" || !back.Pass || back.Control != nil {
		t.Errorf("round trip: %+v", back)
	}

	v = Verdict{Rule: RuleMannWhitney, Reason: "x", PValue: 0.01, NoData: false, Control: &ctl}
	b, err = json.Marshal(&v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"pValue":0.01`) || !strings.Contains(string(b), `"control":{"n":2,`) {
		t.Errorf("encoded %s", b)
	}
	if err := json.Unmarshal(b, &back); err != nil || back.PValue != 0.01 || back.Control == nil || back.Control.Median != 1.5 {
		t.Errorf("round trip %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"pass":"yes"}`), &back); err == nil {
		t.Error("a malformed verdict decodes")
	}
}
