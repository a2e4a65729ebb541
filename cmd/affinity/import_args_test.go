package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportChecksArgumentsFirst: a wrong format or an input that cannot be
// read is refused before the store is opened, so no data directory appears
// and no summary of nothing is printed.
func TestImportChecksArgumentsFirst(t *testing.T) {
	demo := "../../testdata/demo/online_retail_sample.csv.gz"
	for name, args := range map[string][]string{
		"unknown format": {"--format", "xml", demo},
		"missing file":   {"--format", "csv", filepath.Join(t.TempDir(), "nope.csv")},
		"a directory":    {"--format", "csv", t.TempDir()},
	} {
		data := filepath.Join(t.TempDir(), "store")
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"import", "--data", data}, args...), &out, &out)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, serr := os.Stat(data); !os.IsNotExist(serr) {
			t.Errorf("%s: the data directory was created (%v)", name, serr)
		}
		if strings.Contains(out.String(), "lines read") {
			t.Errorf("%s: printed a summary:\n%s", name, out.String())
		}
	}
}

// TestImportOfNothingAcceptedFails: every line rejected (here, the retail
// sample read as MovieLens) is an error, not exit status 0, and says which
// flag to look at; the summary is still printed.
func TestImportOfNothingAcceptedFails(t *testing.T) {
	demo := "../../testdata/demo/online_retail_sample.csv.gz"
	var out bytes.Buffer
	err := run(context.Background(), []string{"import", "--data", t.TempDir(), "--format", "movielens", demo}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--format movielens") {
		t.Fatalf("all lines rejected: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "accepted     0") {
		t.Errorf("no summary:\n%s", out.String())
	}
}
