package manifest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	if d := unifiedDiff(splitLines("a\nb\n"), splitLines("a\nb\n"), "x", "y", 3); d != "" {
		t.Errorf("equal sides: %q", d)
	}
	got := unifiedDiff(nil, splitLines("a\nb\n"), "x", "y", 3)
	want := "--- x\n+++ y\n@@ -0,0 +1,2 @@\n+a\n+b\n"
	if got != want {
		t.Errorf("added:\n%s\nwant:\n%s", got, want)
	}
	// A long object with many repeated lines still gets a minimal diff
	// (the matcher's junk heuristic is off).
	var a, b []string
	for i := 0; i < 300; i++ {
		a = append(a, "- name: x\n", fmt.Sprintf("  value: %d\n", i))
		v := i
		if i == 150 {
			v = -1
		}
		b = append(b, "- name: x\n", fmt.Sprintf("  value: %d\n", v))
	}
	d := unifiedDiff(a, b, "x", "y", 1)
	changed := 0
	for _, l := range splitLines(d)[2:] {
		if l[0] == '-' || l[0] == '+' {
			changed++
		}
	}
	if changed != 2 {
		t.Errorf("want one line removed and one added, got:\n%s", d)
	}
	if got := splitLines("a\nb"); !reflect.DeepEqual(got, []string{"a\n", "b\n"}) {
		t.Errorf("splitLines without a final newline: %q", got)
	}
}

func TestDiff(t *testing.T) {
	old := Normalize(obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\n"))
	new := Normalize(obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: y}\n"))
	want := `--- :ConfigMap:default:c (live)
+++ :ConfigMap:default:c (head)
@@ -1,6 +1,6 @@
 apiVersion: v1
 data:
-  a: x
+  a: "y"
 kind: ConfigMap
 metadata:
   name: c
`
	if got := Diff(old, new, ":ConfigMap:default:c", "live", "head", 0); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := Diff(old, old, "k", "", "", 0); got != "" {
		t.Errorf("equal objects: %q", got)
	}
	if got := Diff(nil, old, "k", "", "", 0); !strings.HasPrefix(got, "--- k (old)\n+++ k (new)\n@@ -0,0 +1,") {
		t.Errorf("added object:\n%s", got)
	}
}

func TestDiffMasksSecrets(t *testing.T) {
	old := Normalize(obj(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {same: c2FtZQ==, changed: b2xk, removed: Z29uZQ==}\n"))
	new := Normalize(obj(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {same: same, changed: new-value, added: brand-new}\n"))
	oldCopy, newCopy := Normalize(obj(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {same: c2FtZQ==, changed: b2xk, removed: Z29uZQ==}\n")), Normalize(obj(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {same: same, changed: new-value, added: brand-new}\n"))
	got := Diff(old, new, "s", "a", "b", 10)
	for _, secret := range []string{"new-value", "brand-new", "b2xk", "c2FtZQ", "Z29uZQ", "bmV3LXZhbHVl"} {
		if strings.Contains(got, secret) {
			t.Errorf("the diff shows the secret value %q:\n%s", secret, got)
		}
	}
	for _, line := range []string{"-  changed: '***'", "+  changed: '*** (changed)'", "   same: '***'", "-  removed: '***'", "+  added: '***'"} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("no line %q in\n%s", line, got)
		}
	}
	if !reflect.DeepEqual(old, oldCopy) || !reflect.DeepEqual(new, newCopy) {
		t.Error("Diff modified its arguments")
	}
	// Only the values: a Secret whose data did not change has no diff.
	if got := Diff(old, old, "s", "a", "b", 0); got != "" {
		t.Errorf("same Secret: %q", got)
	}
}
