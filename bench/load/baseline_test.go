package load

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRunWithBaseline(t *testing.T) {
	target := newFakeServer(t, nil)
	base := newFakeServer(t, nil)
	o := testOptions(target.URL)
	o.Scenario = ScenarioMixed
	var progress syncBuffer
	cmp, err := RunWithBaseline(context.Background(), o, base.URL, &progress)
	if err != nil {
		t.Fatal(err)
	}
	target.check(t)
	base.check(t)
	// The ids come from the target once; the baseline is asked for none.
	if target.hits("popular") < 1 || target.hits("customers") != 1 {
		t.Errorf("target discovery: popular %d, customers %d", target.hits("popular"), target.hits("customers"))
	}
	if base.hits("customers") != 0 {
		t.Errorf("the baseline was asked for ids: customers %d", base.hits("customers"))
	}
	for _, route := range []string{"related", "personal", "events"} {
		if target.hits(route) == 0 || base.hits(route) == 0 {
			t.Errorf("%s: target %d, baseline %d requests", route, target.hits(route), base.hits(route))
		}
	}
	if cmp.Baseline.URL != base.URL || cmp.URL != target.URL {
		t.Errorf("urls: baseline %s, target %s", cmp.Baseline.URL, cmp.URL)
	}
	if cmp.Baseline.RPS <= 0 || cmp.RPS <= 0 {
		t.Fatalf("rps: baseline %v, target %v", cmp.Baseline.RPS, cmp.RPS)
	}
	if want := round(cmp.RPS / cmp.Baseline.RPS); cmp.Ratio != want {
		t.Errorf("ratio %v, want %v", cmp.Ratio, want)
	}
	if cmp.IDs.Source != "server" || cmp.Baseline.IDs.Source != "server" {
		t.Errorf("ids source: target %q, baseline %q", cmp.IDs.Source, cmp.Baseline.IDs.Source)
	}
	if !strings.Contains(progress.String(), "baseline: trivial fiber handler at "+base.URL) {
		t.Errorf("progress does not announce the baseline:\n%s", progress.String())
	}

	var js bytes.Buffer
	if err := cmp.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	// The contract's fields stay at the top level, describing the target.
	for _, k := range []string{"scenario", "requests", "errors", "rps", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "baseline_ratio"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if got["scenario"] != ScenarioMixed || got["url"] != target.URL {
		t.Errorf("JSON top level is not the target's: %v %v", got["scenario"], got["url"])
	}
	if b, ok := got["baseline"].(map[string]any); !ok || b["url"] != base.URL {
		t.Errorf("JSON baseline: %v", got["baseline"])
	}
	var table bytes.Buffer
	if err := cmp.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"baseline", "ratio", base.URL} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestRunWithBaselineBadTarget(t *testing.T) {
	base := newFakeServer(t, nil)
	o := testOptions("http://127.0.0.1:1") // nothing listens there
	if _, err := RunWithBaseline(context.Background(), o, base.URL, nil); err == nil {
		t.Fatal("an unreachable target gave no error")
	}
	if n := base.hits("related"); n != 0 {
		t.Errorf("the baseline was loaded (%d requests) although the target could not be asked for ids", n)
	}
	o.Duration = 0
	if _, err := RunWithBaseline(context.Background(), o, base.URL, nil); err == nil {
		t.Fatal("invalid options gave no error")
	}
}
