package platform

import (
	"errors"
	"testing"
)

func TestFileError(t *testing.T) {
	for _, tc := range []struct {
		err       string
		file      string
		line, col int
		msg       string
	}{
		{"apps/web/taskdef.yaml:14:5: unknown field `x`", "apps/web/taskdef.yaml", 14, 5, "unknown field `x`"},
		{"apps/web/service.yaml:8: mapping key \"a\" already defined", "apps/web/service.yaml", 8, 0, "mapping key \"a\" already defined"},
		{"apps/web/app.pipecd.yaml: something", "apps/web/app.pipecd.yaml", 0, 0, "something"},
		{"read apps/web/x.yaml: permission denied", "apps/web/app.pipecd.yaml", 0, 0, "read apps/web/x.yaml: permission denied"},
	} {
		d := FileError("apps/web/app.pipecd.yaml", errors.New(tc.err))
		if len(d) != 1 || d[0].File != tc.file || d[0].Line != tc.line || d[0].Column != tc.col || d[0].Message != tc.msg {
			t.Errorf("%q: %+v", tc.err, d)
		}
	}
}
