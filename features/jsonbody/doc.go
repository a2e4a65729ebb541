// Package jsonbody decodes the JSON object bodies of the API's definition
// requests (products, customers, segments, offers, experiments, offer
// responses) under one convention, so that each refuses bad input alike:
// an empty body, anything but one JSON object, trailing data, a key given
// twice at any level, nesting deeper than MaxDepth, a key that is not a
// field (names match exactly, case included) and a value of the wrong
// type. Every error is a *features.FieldError naming the field by its JSON
// path, worded in JSON's terms (a string, a number, an object) and never
// in Go's.
//
// Events have their own hand-written decoder (features/eventio), which
// follows the same rules at ingest speed.
package jsonbody
