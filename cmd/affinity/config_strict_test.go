package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigIsReadStrictly: the config file is read like the API's
// definitions: trailing data, a duplicate key, an unknown key at any depth,
// a wrong type, an empty file and a negative number are each refused with
// the key's path and JSON's words (not Go's); good files still load.
func TestConfigIsReadStrictly(t *testing.T) {
	bad := map[string]string{
		`{"neighbours":50}{"x":1}`:                  "",
		`{"neighbours":1,"neighbours":2}`:           "neighbours",
		`{"half_life_days":-3}`:                     "half_life_days",
		`{"neighbours":-5}`:                         "neighbours",
		`{"body_limit_mb":-1}`:                      "body_limit_mb",
		`{"personal_cache_entries":-1}`:             "personal_cache_entries",
		`{"event_types":{"wishlist":{"clas":"x"}}}`: "event_types.wishlist.clas",
		`{"neighbours":"x"}`:                        "neighbours",
		``:                                          "empty",
		`{"cluster":{"replicas":-1}}`:               "cluster.replicas",
	}
	for body, want := range bad {
		_, err := readConfig(writeConfig(t, body))
		if err == nil {
			t.Errorf("%q accepted", body)
			continue
		}
		if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "fileConfig") {
			t.Errorf("%q: %v (want it to name %q, in JSON's terms)", body, err, want)
		}
	}
	for _, body := range []string{
		`{"cluster":{"snapshot_every":100000}}`,
		`{"cluster":{"snapshot_every":"30m"}}`,
		`{"event_types":{"wishlist":{"weight":1,"class":"viewed"}},"neighbours":0,"tune":false}`,
	} {
		if _, err := readConfig(writeConfig(t, body)); err != nil {
			t.Errorf("%q refused: %v", body, err)
		}
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
