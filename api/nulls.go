package api

import (
	"bytes"
	"encoding/json"
	"sort"
)

// refuseNulls answers 400 for a top-level field of body (already decoded
// whole by decodeBody) given as null, except the fields in keep. A PATCH
// decodes into pointers, so null reads as absent and {"price": null} was a
// 200 that changed nothing; null is meaningful only inside attributes,
// where it removes one.
func refuseNulls(body []byte, keep ...string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil // decodeBody has accepted it; nothing to add
	}
	names := make([]string, 0, len(fields))
	for name, raw := range fields {
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			names = append(names, name)
		}
	}
	sort.Strings(names) // the first by name, so the answer is stable
	for _, name := range names {
		kept := false
		for _, k := range keep {
			kept = kept || k == name
		}
		if !kept {
			return badRequest(name, name+" cannot be null: leave it out to keep the current value (null removes only an attribute)")
		}
	}
	return nil
}
