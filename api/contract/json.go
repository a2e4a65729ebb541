package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// jsonDecode decodes a whole JSON body, numbers as float64 as the
// validator's schema engine expects.
func jsonDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body is not JSON: %w: %.200s", err, b)
	}
	return nil
}
