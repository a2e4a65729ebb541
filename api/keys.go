package api

import (
	"fmt"
	"strings"
)

// Key is one API key and its scope.
type Key struct {
	Scope Scope
	Key   string
}

// ParseKeys reads "read:KEY1,write:KEY2,admin:KEY3" (whitespace and newlines
// also separate entries, so a keys file can hold one per line). An error
// in a file of several lines names its line; a key given twice is refused
// (for two scopes it would silently get the higher one).
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	seen := map[string]string{} // key -> the scope it was given for
	lines := strings.Split(s, "\n")
	for n, line := range lines {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i] // a keys file may carry comments
		}
		for _, f := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			k, err := parseKey(f, seen)
			if err != nil && len(lines) > 1 {
				err = fmt.Errorf("line %d: %w", n+1, err)
			}
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// parseKey reads one SCOPE:KEY entry; seen holds the keys read before it.
func parseKey(f string, seen map[string]string) (Key, error) {
	scope, key, ok := strings.Cut(f, ":")
	if !ok || key == "" {
		return Key{}, fmt.Errorf("API key entry %q is not SCOPE:KEY", redact(f))
	}
	sc, err := ParseScope(scope)
	if err != nil {
		return Key{}, err
	}
	if len(key) < 8 {
		return Key{}, fmt.Errorf("API key for scope %s is shorter than 8 characters", scope)
	}
	if prev, dup := seen[key]; dup {
		return Key{}, fmt.Errorf("an API key for scope %s is given again (first for scope %s): each key has one scope", scope, prev)
	}
	seen[key] = scope
	return Key{Scope: sc, Key: key}, nil
}

func redact(s string) string {
	if i := strings.Index(s, ":"); i >= 0 {
		return s[:i+1] + "…"
	}
	return "…"
}
