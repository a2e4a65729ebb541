// Package eventio reads files of events in the import formats of
// `affinity import` (DESIGN.md section 3.1) and decodes the event JSON of
// the HTTP API.
//
// A Reader turns one file into a stream of validated features.Event values.
// One bad line never stops a file: Next reports it as a *LineError, whose
// Reason is a short stable word for the import summary ("rejected by
// reason"), and the caller simply calls Next again. Lines a format skips on
// purpose (cancelled invoices in the Online Retail set, for instance) are
// LineErrors with Skipped set, so that they can be counted apart from
// rejections. Any other error is fatal for the file (a truncated gzip stream,
// a failing disk).
//
// Formats:
//
//   - "csv": a header row naming the columns; customer_id and product_id
//     are required, event_type (or type, default "purchase"), timestamp
//     (unix seconds or RFC 3339), value, quantity, order_id, event_id and
//     recommendation_id are optional, and unknown columns are ignored. A
//     record must have as many fields as the header: a shifted row would
//     otherwise put values in the wrong columns silently.
//   - "ndjson": one event JSON object per line (see DecodeEventJSON);
//     blank lines are skipped.
//   - "movielens": MovieLens ratings, "user item rating unix-ts" separated
//     by tabs (u.data) or by "::" (ratings.dat of the larger sets); each
//     rating is an event of type "rating" whose value is the rating.
//   - "online-retail": the UCI Online Retail CSV. Cancellations, lines
//     without a customer and non-positive quantities are skipped; StockCode
//     is the product, InvoiceNo the order, Quantity*UnitPrice the value. The
//     Reader also collects the products and customer countries it saw.
//
// Input may be gzip-compressed (detected by the magic bytes, or by a ".gz"
// name for Open) and may start with a UTF-8 byte order mark.
//
// Idempotent imports: an event read without an event id gets one derived
// from its content (ContentID: the hex of a 128-bit hash of its normalised
// fields), with "-2", "-3", ... appended for the second, third, ... exact
// duplicate within the same file. Importing the same file twice therefore
// yields the same ids, while genuine duplicate rows are kept as distinct
// events. Counting duplicates costs 20 to 40 bytes of memory per event read.
//
// Limits: an NDJSON or MovieLens line longer than 1 MiB is rejected with
// reason "line_too_long". CSV follows RFC 4180 through encoding/csv, so a
// quoted field may span lines; an unterminated quote therefore turns the rest
// of the file into one rejected record ("bad_csv").
package eventio
