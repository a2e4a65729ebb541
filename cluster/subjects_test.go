package cluster

import "testing"

func TestSubjectsRoundTrip(t *testing.T) {
	s := Subjects{Prefix: "aff.prod"}
	for _, id := range []string{"c1", "a.b", "*", ">", "with space", "ünï", "x/y=z"} {
		subj := s.Customer(id, "ev")
		p, err := s.Parse(subj)
		if err != nil || p.Customer != id || p.Kind != "ev" {
			t.Fatalf("%q -> %q -> %+v, %v", id, subj, p, err)
		}
	}
	if p, err := s.Parse(s.Definition("offers")); err != nil || p.Kind != "offers" || p.Customer != "" {
		t.Fatalf("definition: %+v %v", p, err)
	}
	if p, err := s.Parse(s.Erasure()); err != nil || !p.Erasure {
		t.Fatalf("erasure: %+v %v", p, err)
	}
	for _, bad := range []string{"other.c.YQ.ev", "aff.prod.c.!!.ev", "aff.prod.x", "aff.prod.c.YQ"} {
		if _, err := s.Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestStreamConfigRefused(t *testing.T) {
	for _, c := range []StreamConfig{{Name: "a.b"}, {Prefix: "a..b"}, {Prefix: "a.*"}, {Replicas: 7}, {Duplicates: -1}} {
		if err := c.withDefaults().validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
