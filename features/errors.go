package features

import "errors"

// FieldError is bad input in one named field. api/ maps it to 400 and puts
// Field in the problem's detail.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Msg }

// unknown is an ErrNotFound that names what is missing, so that every layer
// up to the HTTP problem says the same thing without mapping it again.
type unknown struct{ what, id string }

func (e *unknown) Error() string        { return "unknown " + e.what + " \"" + e.id + "\"" }
func (e *unknown) Is(target error) bool { return target == ErrNotFound }

func errUnknown(what, id string) error { return &unknown{what: what, id: id} }

// Unknown is the ErrNotFound of what (a kind, such as "segment") id, for
// packages that keep their own records beside the store: it reads the
// same as the store's own ("unknown segment \"x\"").
func Unknown(what, id string) error { return errUnknown(what, id) }

var (
	// ErrNotFound is returned when an id, product, customer or record is unknown.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned by a Store used after Close.
	ErrClosed = errors.New("store closed")
	// ErrReadOnly is returned when the store cannot write (read-only
	// directory, disk full); the server reports not ready.
	ErrReadOnly = errors.New("store cannot write")
	// ErrInvalid marks bad input that is not tied to a single field.
	ErrInvalid = errors.New("invalid input")
)
