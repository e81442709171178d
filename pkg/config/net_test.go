package config

import "testing"

func TestPortRangeText(t *testing.T) {
	for text, want := range map[string]string{
		"8000-8099": "8000-8099", "1-65535": "1-65535", " 30000 - 30010 ": "30000-30010", "9000-9000": "9000-9000",
		"8099-8000": "", "0-10": "", "1-65536": "", "8000": "", "a-b": "", "": "",
	} {
		var r PortRange
		err := r.UnmarshalText([]byte(text))
		switch {
		case want == "" && err == nil:
			t.Errorf("%q: accepted as %s", text, r)
		case want != "" && (err != nil || r.String() != want):
			t.Errorf("%q: %v, %v; want %s", text, r, err, want)
		}
	}
	r := PortRange{First: 10, Last: 12}
	if !r.Contains(10) || !r.Contains(12) || r.Contains(9) || r.Contains(13) {
		t.Errorf("Contains of %s", r)
	}
}

func TestSubnetText(t *testing.T) {
	for text, ok := range map[string]bool{
		"172.20.0.0/16": true, "10.100.0.0/16": true, "10.0.0.0/8": true,
		"172.20.1.0/16": false, "fd00::/64": false, "172.20.0.0": false, "": false,
	} {
		var s Subnet
		err := s.UnmarshalText([]byte(text))
		if (err == nil) != ok || ok && s.String() != text {
			t.Errorf("%q: %s, %v", text, s, err)
		}
	}
}
