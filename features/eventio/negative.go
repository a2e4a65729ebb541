package eventio

import (
	"fmt"

	"github.com/affinity-rec/affinity/features"
)

// positiveTypes are the built-in types that never carry a negative value.
// A reader knows no configuration, so it refuses a negative value on these
// at the line, as the import ranges always did; a negative value on any
// other type (a return, or a custom type the server may configure as one)
// goes on to the store, which checks it against the configured types
// (features/negative.go).
var positiveTypes = map[string]bool{"view": true, "click": true, "cart": true, "purchase": true, "rating": true, "dislike": true}

// checkSign refuses a negative value on a built-in positive type.
func checkSign(ev *features.Event) error {
	if ev.Value < 0 && positiveTypes[ev.Type] {
		return &features.FieldError{Field: "value", Msg: fmt.Sprintf("is %g; only a return may carry a negative value", ev.Value)}
	}
	return nil
}
