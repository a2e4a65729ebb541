package eventio

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// TestRetailCancellationsAsReturns: by default a cancellation is skipped;
// with SetCancellationsAsReturns it is a return of the units cancelled,
// refunding quantity x price, without an order id (a C invoice does not
// name the one it cancels), and it leaves the catalogue as sold.
func TestRetailCancellationsAsReturns(t *testing.T) {
	in := retailHeader +
		"536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n" +
		"C536379,85123A,CHEAP NAME,-2,2010-12-01 09:41:00,9.99,17850.0,France\n" +
		"C536380,D,Discount,-1,2010-12-01 09:42:00,27.5,17850.0,United Kingdom\n" +
		"C536381,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-1,2010-12-01 09:43:00,2.55,,United Kingdom\n"
	if res := readString(t, FormatOnlineRetail, in); len(res.events) != 1 || res.reasons[ReasonCancelled] != 3 {
		t.Fatalf("default: %d events, reasons %v; want 1 and 3 cancellations skipped", len(res.events), res.reasons)
	}
	r, err := NewReader(strings.NewReader(in), FormatOnlineRetail)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.SetCancellationsAsReturns(true)
	var got []string
	skipped := 0
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *LineError
		if errors.As(err, &le) {
			skipped++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == "return" && (e.OrderID != "" || e.Quantity <= 0 || e.Value >= 0) {
			t.Fatalf("return %+v: want no order, a positive quantity, a negative value", e)
		}
		got = append(got, e.Type+" "+e.ProductID+" "+strconv.FormatFloat(e.Value, 'f', -1, 64))
	}
	want := []string{"purchase 85123A 15.3", "return 85123A -19.98", "return D -27.5"}
	if strings.Join(got, "|") != strings.Join(want, "|") || skipped != 1 {
		t.Fatalf("got %v (%d skipped), want %v and the line without a customer skipped", got, skipped, want)
	}
	p := r.Products()["85123A"]
	if p.Price != 2.55 || p.Attributes["description"] != "WHITE HANGING HEART T-LIGHT HOLDER" {
		t.Fatalf("the cancellation changed the catalogue: %+v", p)
	}
	if _, ok := r.Products()["D"]; ok {
		t.Fatal("a code only cancelled entered the catalogue")
	}
	if c := r.CustomerAttributes()["17850"]["country"]; c != "United Kingdom" {
		t.Fatalf("country %v", c)
	}
}
