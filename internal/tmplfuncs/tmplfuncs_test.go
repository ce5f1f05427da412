package tmplfuncs

import "testing"

func TestSprig(t *testing.T) {
	m := Sprig()
	for _, f := range Withheld {
		if _, ok := m[f]; ok {
			t.Errorf("%s is in the function set", f)
		}
	}
	for _, f := range []string{"upper", "trunc", "sha256sum", "default"} {
		if _, ok := m[f]; !ok {
			t.Errorf("%s is not in the function set", f)
		}
	}
}
