package eventio

import (
	"errors"
	"fmt"

	"github.com/affinity-rec/affinity/features"
)

var (
	// ErrUnknownFormat is returned by Open and NewReader for a format name
	// they do not know; the message lists the valid ones.
	ErrUnknownFormat = errors.New("unknown format")
	// ErrBadHeader is returned by Open and NewReader when a CSV input has no
	// header row, or one that lacks a required column or names one twice.
	ErrBadHeader = errors.New("bad header")
	// ErrBadJSON is returned (wrapped) by DecodeEventJSON for input that is
	// not one well-formed JSON object. It also matches features.ErrInvalid
	// with errors.Is.
	ErrBadJSON = errors.New("malformed JSON")
)

// Reasons of a LineError. They are stable: the import summary counts
// rejected and skipped lines by them. A features.FieldError for field F
// gives "missing_F" when the field is absent and "bad_F" otherwise (for
// example "missing_customer_id", "bad_timestamp", "bad_type").
const (
	// ReasonBadJSON: an NDJSON line is not one well-formed JSON object.
	ReasonBadJSON = "bad_json"
	// ReasonBadCSV: a CSV record is malformed (a stray or missing quote).
	ReasonBadCSV = "bad_csv"
	// ReasonBadFieldCount: a record has more or fewer fields than expected.
	ReasonBadFieldCount = "bad_field_count"
	// ReasonLineTooLong: a line is over 1 MiB.
	ReasonLineTooLong = "line_too_long"
	// ReasonBadField: a field error that names no field.
	ReasonBadField = "bad_field"
	// ReasonUnknownField: an NDJSON event has a key that is not an event
	// field (the reason does not carry the key, which is the sender's).
	ReasonUnknownField = "unknown_field"
	// ReasonDuplicateKey: an NDJSON event gives a key twice.
	ReasonDuplicateKey = "duplicate_key"

	// ReasonCancelled (skip): an Online Retail invoice starting with "C".
	ReasonCancelled = "cancelled"
	// ReasonNoCustomer (skip): an Online Retail line without a CustomerID.
	ReasonNoCustomer = "no_customer"
	// ReasonNonPositiveQuantity (skip): an Online Retail line whose
	// Quantity is zero or negative.
	ReasonNonPositiveQuantity = "non_positive_quantity"
)

// LineError is one line of input that did not become an event. The caller
// counts it and calls Next again. The Reader keeps no reference to a
// LineError it returned, so the caller may keep it or pass it to another
// goroutine; it is not safe to modify concurrently.
type LineError struct {
	// Line is the 1-based line where the record starts.
	Line int
	// Reason is a short stable word, one of the Reason constants or
	// "missing_F" / "bad_F" for a field F.
	Reason string
	// Skipped is true for lines the format leaves out on purpose (they are
	// not errors in the input): count them apart from rejections.
	Skipped bool
	// Err is the detail, nil for skipped lines. A field problem is a
	// *features.FieldError.
	Err error
}

func (e *LineError) Error() string {
	if e.Skipped {
		return fmt.Sprintf("line %d: skipped: %s", e.Line, e.Reason)
	}
	if e.Err == nil {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s: %v", e.Line, e.Reason, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// lineError wraps err, naming its reason. A FieldError gives its own reason;
// anything else takes fallback.
func lineError(line int, fallback string, err error) *LineError {
	return &LineError{Line: line, Reason: reasonOf(err, fallback), Err: err}
}

func skipped(line int, reason string) *LineError {
	return &LineError{Line: line, Reason: reason, Skipped: true}
}

// reasonOf names err for the import summary. Reasons are derived from the
// field rather than the message so that they stay stable when a message is
// reworded.
func reasonOf(err error, fallback string) string {
	var fe *features.FieldError
	if !errors.As(err, &fe) {
		return fallback
	}
	if fe.Field == "" {
		return ReasonBadField
	}
	switch fe.Msg {
	case msgUnknownField:
		return ReasonUnknownField
	case msgDuplicateKey:
		return ReasonDuplicateKey
	}
	if fe.Msg == "is required" {
		return "missing_" + fe.Field
	}
	return "bad_" + fe.Field
}

// jsonError is a syntax error in JSON input. It matches both ErrBadJSON and
// features.ErrInvalid so that api/ can map it without knowing this package.
type jsonError struct {
	off int
	msg string
}

func (e *jsonError) Error() string {
	return fmt.Sprintf("%v at byte %d: %s", ErrBadJSON, e.off, e.msg)
}

func (e *jsonError) Is(target error) bool {
	return target == ErrBadJSON || target == features.ErrInvalid
}

// LineIssue gives the import its count: features.Import reads a
// features.ImportReader, and counts the lines it could not use by reason.
func (e *LineError) LineIssue() (reason string, skipped bool) { return e.Reason, e.Skipped }
