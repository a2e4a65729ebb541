package load

import (
	"math"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	ok := testOptions("http://127.0.0.1:8080")
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*Options)
	}{
		{"no url", func(o *Options) { o.URL = "" }},
		{"no scheme", func(o *Options) { o.URL = "127.0.0.1:8080" }},
		{"ftp", func(o *Options) { o.URL = "ftp://h" }},
		{"query", func(o *Options) { o.URL = "http://h/?a=b" }},
		{"scenario", func(o *Options) { o.Scenario = "all" }},
		{"duration", func(o *Options) { o.Duration = 0 }},
		{"warmup", func(o *Options) { o.Warmup = -time.Second }},
		{"concurrency", func(o *Options) { o.Concurrency = 0 }},
		{"huge concurrency", func(o *Options) { o.Concurrency = 1 << 20 }},
		{"rate", func(o *Options) { o.Rate = -1 }},
		{"rate nan", func(o *Options) { o.Rate = math.NaN() }},
		{"rate too low", func(o *Options) { o.Rate = 0.5; o.Duration = time.Second }},
		{"timeout", func(o *Options) { o.Timeout = 0 }},
	} {
		o := ok
		c.edit(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", c.name, o)
		}
	}
}
