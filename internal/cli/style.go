package cli

// style colours terminal output; with colour off every method is identity.
// It satisfies report.Styler.
type style struct{ color bool }

func (s style) wrap(code, t string) string {
	if !s.color {
		return t
	}
	return "\x1b[" + code + "m" + t + "\x1b[0m"
}

func (s style) Red(t string) string    { return s.wrap("31;1", t) }
func (s style) Green(t string) string  { return s.wrap("32", t) }
func (s style) Yellow(t string) string { return s.wrap("33", t) }
func (s style) Cyan(t string) string   { return s.wrap("36", t) }
func (s style) Bold(t string) string   { return s.wrap("1", t) }
func (s style) Dim(t string) string    { return s.wrap("2", t) }
