package eventio

import (
	"strings"

	"github.com/affinity-rec/affinity/features"
)

// Online Retail cancellations as returns.
//
// An invoice whose number starts with "C" cancels lines of earlier
// invoices: the quantity is negative, the unit price positive. By default
// the importer skips them (ReasonCancelled), which keeps the evaluation
// protocol and the figures measured on it as they were. With
// SetCancellationsAsReturns each such line becomes a "return" event whose
// value is the refund, quantity × price (negative), and whose quantity is
// the number of units returned. The cancellation's invoice number does not
// name the invoice it cancels, so the event carries no order_id: customer
// value matches it to the customer's latest purchase of the product
// (features/crm/returns.go). A cancellation with a positive quantity (none
// in the published file) is skipped as a non-positive quantity would be.

// SetCancellationsAsReturns makes an Online Retail reader turn
// cancellations into return events instead of skipping them; other
// formats ignore it. Call it before the first Next.
func (r *Reader) SetCancellationsAsReturns(on bool) {
	if r.retail != nil {
		r.retail.returns = on
	}
}

// cancellation is a cancelled line as a return event.
func (d *retailDecoder) cancellation(get func(retailColumn) string, line int) (features.Event, int, error) {
	customer := retailCustomerID(get(rCustomer))
	if customer == "" {
		return features.Event{}, line, skipped(line, ReasonNoCustomer)
	}
	qty, err := requiredNumber("quantity", get(rQuantity))
	if err != nil {
		return features.Event{}, line, lineError(line, ReasonBadField, err)
	}
	if qty >= 0 {
		return features.Event{}, line, skipped(line, ReasonNonPositiveQuantity)
	}
	price, err := requiredNumber("unit_price", get(rPrice))
	if err != nil {
		return features.Event{}, line, lineError(line, ReasonBadField, err)
	}
	ts, err := d.parseDate(get(rDate))
	if err != nil {
		return features.Event{}, line, lineError(line, ReasonBadField, err)
	}
	d.cancelled = true
	return features.Event{
		CustomerID: customer,
		ProductID:  get(rStock),
		Type:       "return",
		Value:      roundMicro(qty * max(price, 0)),
		Quantity:   -qty,
		Timestamp:  ts,
	}, line, nil
}

// isCancellation reports whether invoice cancels earlier lines.
func isCancellation(invoice string) bool { return strings.HasPrefix(invoice, "C") }
