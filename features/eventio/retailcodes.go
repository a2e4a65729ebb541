package eventio

import "strings"

// Online Retail's stock codes that are not merchandise: postage, carriage,
// fees, manual adjustments, discounts, samples, commissions and gift
// vouchers. They are lines of real invoices, so their events stay (they
// are purchases, and a customer's spend includes them), but the importer
// marks their products not recommendable: POST ("POSTAGE") was the top
// product of France's segment. The list was read off the data set's
// StockCodes that are not a five-digit article number (docs/operations.md
// lists it too); DCGS* ("Dotcomgiftshop") lines are left listed, as some
// of them are real articles (party bags, a camper bag).
var retailNonMerchandise = map[string]bool{
	"POST":         true, // POSTAGE
	"DOT":          true, // DOTCOM POSTAGE
	"C2":           true, // CARRIAGE
	"M":            true, // Manual
	"m":            true, // Manual
	"D":            true, // Discount
	"S":            true, // SAMPLES
	"B":            true, // Adjust bad debt
	"BANK CHARGES": true,
	"AMAZONFEE":    true, // AMAZON FEE
	"CRUK":         true, // CRUK Commission
	"PADS":         true, // PADS TO MATCH ALL CUSHIONS (a 0.001 filler line)
}

// RetailNonMerchandise reports whether an Online Retail stock code is not
// merchandise (see retailNonMerchandise; gift_* are gift vouchers).
func RetailNonMerchandise(code string) bool {
	return retailNonMerchandise[code] || strings.HasPrefix(code, "gift_")
}
