package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestServeRefusesOpenAddressWithoutKeys(t *testing.T) {
	t.Setenv("AFFINITY_API_KEYS", "")
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "0.0.0.0:0", "--data", t.TempDir()}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "without API keys") || !strings.Contains(err.Error(), "--insecure") {
		t.Fatalf("serve on 0.0.0.0 without keys: %v", err)
	}
}

func TestImportIsIdempotentAndSummarises(t *testing.T) {
	dir := t.TempDir()
	demo := "../../testdata/demo/online_retail_sample.csv.gz"
	var out bytes.Buffer
	if err := run(context.Background(), []string{"import", "--data", dir, "--format", "online-retail", demo}, &out, &out); err != nil {
		t.Fatalf("import: %v\n%s", err, out.String())
	}
	first := out.String()
	for _, want := range []string{"lines read   30223", "accepted     28810 (of which 0 already stored)", "cancelled", "no_customer", "events/s"} {
		if !strings.Contains(first, want) {
			t.Errorf("summary lacks %q:\n%s", want, first)
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"import", "--data", dir, "--format", "online-retail", demo}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "accepted     28810 (of which 28810 already stored)") {
		t.Errorf("re-import is not idempotent:\n%s", out.String())
	}
}

func TestUnknownCommandAndFormat(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"fly"}, &out, &out); err == nil {
		t.Fatal("unknown command accepted")
	}
	err := run(context.Background(), []string{"import", "--data", t.TempDir(), "--format", "xml", "x.xml"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "csv") {
		t.Fatalf("unknown format: %v", err)
	}
}

// TestServeRefusesAnAddressThatIsNotHostPort: --addr nonsense is named as
// such, not refused as "without API keys" (which sent people to set keys).
func TestServeRefusesAnAddressThatIsNotHostPort(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "nonsense", "--data", t.TempDir()}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "HOST:PORT") {
		t.Fatalf("--addr nonsense: %v", err)
	}
}
