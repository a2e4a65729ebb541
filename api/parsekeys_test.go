package api

import (
	"strings"
	"testing"
)

// TestParseKeysNamesTheLineAndRefusesRepeats: a keys file's bad entry is
// reported with its line, and a key given twice (even for two scopes,
// where it silently got the higher one) is refused.
func TestParseKeysNamesTheLineAndRefusesRepeats(t *testing.T) {
	file := "# storefront\nread:readkey123\n\nwrite:writekey123 admin\n"
	if _, err := ParseKeys(file); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("bad entry on line 4: %v", err)
	}
	for _, s := range []string{"read:samekey123,admin:samekey123", "read:samekey123\nread:samekey123"} {
		if _, err := ParseKeys(s); err == nil || !strings.Contains(err.Error(), "given again") {
			t.Errorf("%q: %v", s, err)
		}
	}
	keys, err := ParseKeys("read:readkey123\n write:writekey123, admin:adminkey123 # ops\n")
	if err != nil || len(keys) != 3 || keys[2].Scope != ScopeAdmin {
		t.Errorf("good file: %v %v", keys, err)
	}
}
