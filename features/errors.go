package features

import "errors"

// FieldError is bad input in one named field. api/ maps it to 400 and puts
// Field in the problem's detail.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Msg }

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
