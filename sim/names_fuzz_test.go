package sim

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseNames: ParseMethod and ParseChannel accept exactly the names
// String gives their values, and refuse anything else with an error that
// quotes it.
func FuzzParseNames(f *testing.F) {
	for _, s := range []string{"euler", "rk4", "exponential_euler", "AMPA", "NMDA", "GABA",
		"Euler", "ampa", "rk4 ", "", "Method(0)", "Channel(1)", "gaba\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := ParseMethod(s); err == nil {
			if m.String() != s {
				t.Errorf("ParseMethod(%q) = %v, which prints as %q", s, m, m.String())
			}
		} else if !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Errorf("ParseMethod(%q): error %q does not quote it", s, err)
		}
		if c, err := ParseChannel(s); err == nil {
			if c.String() != s {
				t.Errorf("ParseChannel(%q) = %v, which prints as %q", s, c, c.String())
			}
		} else if !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Errorf("ParseChannel(%q): error %q does not quote it", s, err)
		}
	})
	// Every value parses back from its name.
	for _, m := range []Method{Euler, RK4, ExponentialEuler} {
		if got, err := ParseMethod(m.String()); err != nil || got != m {
			f.Errorf("ParseMethod(%q) = %v, %v", m.String(), got, err)
		}
	}
	for _, c := range []Channel{AMPA, NMDA, GABA} {
		if got, err := ParseChannel(c.String()); err != nil || got != c {
			f.Errorf("ParseChannel(%q) = %v, %v", c.String(), got, err)
		}
	}
}
