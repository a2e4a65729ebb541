package eventio

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/affinity-rec/affinity/features"
)

// csvColumn indexes the columns the csv format understands.
type csvColumn int

const (
	colCustomer csvColumn = iota
	colProduct
	colType
	colTimestamp
	colValue
	colQuantity
	colOrder
	colEventID
	colRecommendation
	numCSVColumns
)

// csvHeaderNames maps a header name, lowercased, to its column. Two names
// for one column (event_type and type) are aliases.
var csvHeaderNames = map[string]csvColumn{
	"customer_id":       colCustomer,
	"product_id":        colProduct,
	"event_type":        colType,
	"type":              colType,
	"timestamp":         colTimestamp,
	"value":             colValue,
	"quantity":          colQuantity,
	"order_id":          colOrder,
	"event_id":          colEventID,
	"recommendation_id": colRecommendation,
}

type csvDecoder struct {
	cr     *csv.Reader
	col    [numCSVColumns]int // field index, -1 when absent
	fields int                // fields in the header
	line   int                // line of the last record read
}

// newCSVReader configures encoding/csv the way every CSV format here reads:
// records may have any number of fields (checked against the header by the
// caller, to report a line rather than fail), and quotes are strict so that
// a stray quote is reported instead of silently merging fields.
func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = true
	return cr
}

// readHeader returns the header row.
func readHeader(cr *csv.Reader) ([]string, error) {
	h, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: no header row", ErrBadHeader)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("%w: cannot parse the header row: %w", ErrBadHeader, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the header row: %w", err)
	}
	return h, nil
}

func newCSVDecoder(r io.Reader) (*csvDecoder, error) {
	d := &csvDecoder{cr: newCSVReader(r)}
	header, err := readHeader(d.cr)
	if err != nil {
		return nil, err
	}
	d.fields = len(header)
	key := func(name string) string { return strings.ToLower(strings.TrimSpace(name)) }
	if err := mapColumns(header, csvHeaderNames, key, d.col[:], []csvColumn{colCustomer, colProduct}, "customer_id and product_id"); err != nil {
		return nil, err
	}
	return d, nil
}

// mapColumns fills col (one entry per column) with the header index of
// each known name, -1 for absent ones, and checks that no column is named
// twice and that the required ones are there (named in the error by names).
func mapColumns[C ~int](header []string, known map[string]C, key func(string) string, col []int, required []C, names string) error {
	for i := range col {
		col[i] = -1
	}
	for i, name := range header {
		c, ok := known[key(name)]
		if !ok {
			continue
		}
		if col[c] >= 0 {
			return fmt.Errorf("%w: columns %q and %q both name the same field", ErrBadHeader, header[col[c]], name)
		}
		col[c] = i
	}
	for _, c := range required {
		if col[c] < 0 {
			return fmt.Errorf("%w: the columns %s are required", ErrBadHeader, names)
		}
	}
	return nil
}

// field returns record field col[c], trimmed, or "" when the column is absent.
func field[C ~int](rec []string, col []int, c C) string {
	if i := col[c]; i >= 0 {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

func (d *csvDecoder) next() (features.Event, int, error) {
	rec, line, err := readRecord(d.cr, d.fields, &d.line)
	if err != nil {
		return features.Event{}, line, err
	}
	get := func(c csvColumn) string { return field(rec, d.col[:], c) }
	ev := features.Event{
		EventID:          get(colEventID),
		CustomerID:       get(colCustomer),
		ProductID:        get(colProduct),
		Type:             get(colType),
		OrderID:          get(colOrder),
		RecommendationID: get(colRecommendation),
	}
	if ev.Type == "" {
		ev.Type = "purchase"
	}
	if ev.Value, err = parseNumber("value", get(colValue)); err != nil {
		return features.Event{}, line, lineError(line, ReasonBadField, err)
	}
	if ev.Quantity, err = parseNumber("quantity", get(colQuantity)); err != nil {
		return features.Event{}, line, lineError(line, ReasonBadField, err)
	}
	if ev.Timestamp, err = features.ParseTimestamp(get(colTimestamp)); err != nil {
		return features.Event{}, line, lineError(line, ReasonBadField,
			&features.FieldError{Field: "timestamp", Msg: err.Error()})
	}
	return ev, line, nil
}

// csvReadError turns a syntax error of one record into a LineError (the
// csv.Reader resumes at the next line); io.EOF and read errors pass.
func csvReadError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &LineError{Line: pe.StartLine, Reason: ReasonBadCSV, Err: err}
	}
	return err
}

// parseNumber reads an optional decimal; empty is 0.
func parseNumber(field, s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, &features.FieldError{Field: field, Msg: fmt.Sprintf("%q is not a number", s)}
	}
	return f, nil
}

// readRecord reads one record of a headed CSV file and checks its field
// count against the header's: a shifted row must not put values in the
// wrong columns. *last keeps the line of the last record read.
func readRecord(cr *csv.Reader, fields int, last *int) ([]string, int, error) {
	rec, err := cr.Read()
	if err != nil {
		return nil, *last, csvReadError(err)
	}
	line, _ := cr.FieldPos(0)
	*last = line
	if len(rec) != fields {
		return nil, line, &LineError{Line: line, Reason: ReasonBadFieldCount,
			Err: fmt.Errorf("%d fields, the header has %d", len(rec), fields)}
	}
	return rec, line, nil
}
