package eventio

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

const retailHeader = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"

func TestOnlineRetail(t *testing.T) {
	at := func(s string) time.Time {
		ts, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	cases := []formatCase{
		{
			name: "purchases",
			input: retailHeader +
				"536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n" +
				"536381,82567,\"AIRLINE LOUNGE,METAL SIGN\",2,2010-12-01 09:41:00,2.1,15311.0,United Kingdom\n" +
				"536477,22041,\"RECORD FRAME 7\"\" SINGLE SIZE \",48,12/1/2010 12:27,2.1,16210,United Kingdom\n",
			want: []features.Event{
				{CustomerID: "17850", ProductID: "85123A", Type: "purchase", Quantity: 6, Value: 15.3,
					Timestamp: at("2010-12-01 08:26:00"), OrderID: "536365"},
				{CustomerID: "15311", ProductID: "82567", Type: "purchase", Quantity: 2, Value: 4.2,
					Timestamp: at("2010-12-01 09:41:00"), OrderID: "536381"},
				{CustomerID: "16210", ProductID: "22041", Type: "purchase", Quantity: 48, Value: 100.8,
					Timestamp: at("2010-12-01 12:27:00"), OrderID: "536477"},
			},
		},
		{
			name: "skips and rejections",
			input: retailHeader +
				"C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom\n" + // 2
				"536414,22139,,56,2010-12-01 11:52:00,0,,United Kingdom\n" + // 3
				"536589,21777,,-10,2010-12-01 16:50:00,0,17850.0,United Kingdom\n" + // 4
				"536590,21777,,0,2010-12-01 16:50:00,0,17850.0,United Kingdom\n" + // 5
				"536591,21777,,ten,2010-12-01 16:50:00,0,17850.0,United Kingdom\n" + // 6
				"536592,21777,,,2010-12-01 16:50:00,0,17850.0,United Kingdom\n" + // 7
				"536593,21777,,1,2010-12-01 16:50:00,free,17850.0,United Kingdom\n" + // 8
				"536594,21777,,1,yesterday,1,17850.0,United Kingdom\n" + // 9
				"536595,21777,,1,,1,17850.0,United Kingdom\n" + // 10
				"536596,,,1,2010-12-01 16:50:00,1,17850.0,United Kingdom\n" + // 11
				"536597,21777,,1,2010-12-01 16:50:00,1,17850.0\n" + // 12
				"536598,21777,\"bad \"quote\",1,2010-12-01 16:50:00,1,17850.0,United Kingdom\n" + // 13
				"536599,21777,,1,2010-12-01 16:50:00,1,17850.0,United Kingdom\n", // 14
			want: []features.Event{{CustomerID: "17850", ProductID: "21777", Type: "purchase", Quantity: 1, Value: 1,
				Timestamp: at("2010-12-01 16:50:00"), OrderID: "536599"}},
			reasons: []string{"skip:cancelled", "skip:no_customer", "skip:non_positive_quantity", "skip:non_positive_quantity",
				"bad_quantity", "missing_quantity", "bad_unit_price", "bad_timestamp", "missing_timestamp",
				"missing_product_id", "bad_field_count", "bad_csv"},
			lines: []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13},
		},
		{
			name: "Online Retail II header",
			input: "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n" +
				"489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom\n",
			want: []features.Event{{CustomerID: "13085", ProductID: "85048", Type: "purchase", Quantity: 12, Value: 83.4,
				Timestamp: at("2009-12-01 07:45:00"), OrderID: "489434"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, FormatOnlineRetail) })
	}
}

func TestOnlineRetailHeader(t *testing.T) {
	for _, in := range []string{
		"",
		"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,CustomerID,Country\n",
		"customer_id,product_id\n",
		"InvoiceNo,Invoice,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n",
	} {
		if _, err := NewReader(strings.NewReader(in), FormatOnlineRetail); !errors.Is(err, ErrBadHeader) {
			t.Errorf("%q: got %v, want ErrBadHeader", in, err)
		}
	}
}

func TestOnlineRetailCatalogue(t *testing.T) {
	in := retailHeader +
		"2,A,NEW NAME BOXES,1,2011-01-02 10:00:00,3.00,1.0,France\n" +
		"1,A,OLD NAME,1,2011-01-01 10:00:00,2.00,1.0,United Kingdom\n" + // older: neither price nor name
		"3,A,,1,2011-01-03 10:00:00,4.00,2.0,Germany\n" + // newer price, no name
		"C4,A,CANCELLED,-1,2011-02-01 10:00:00,9.00,1.0,Spain\n" + // skipped: ignored
		"5,B,,1,2011-01-01 10:00:00,1.50,,Spain\n" // no customer: ignored
	r, err := NewReader(strings.NewReader(in), FormatOnlineRetail)
	if err != nil {
		t.Fatal(err)
	}
	if res := readAll(t, r, 100); len(res.events) != 3 {
		t.Fatalf("got %d events, want 3", len(res.events))
	}
	wantProducts := map[string]features.Product{
		"A": {Category: "box", Price: 4, Available: true, Attributes: map[string]any{"description": "NEW NAME BOXES"}},
	}
	if got := r.Products(); !reflect.DeepEqual(got, wantProducts) {
		t.Errorf("Products() = %+v, want %+v", got, wantProducts)
	}
	wantCustomers := map[string]map[string]any{"1": {"country": "France"}, "2": {"country": "Germany"}}
	if got := r.CustomerAttributes(); !reflect.DeepEqual(got, wantCustomers) {
		t.Errorf("CustomerAttributes() = %v, want %v", got, wantCustomers)
	}
}

func TestCategoryOf(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"WHITE HANGING HEART T-LIGHT HOLDER", "holder"},
		{"SET 7 BABUSHKA NESTING BOXES", "box"},
		{"HAND WARMER RED POLKA DOT", "warmer"},
		{"RED WOOLLY HOTTIE WHITE HEART.", "heart"},
		{"PACK OF 72 RETROSPOT CAKE CASES", "case"},
		{"SET/6 RED SPOTTY PAPER CUPS", "cup"},
		{"DOILIES", "doily"},
		{"GLASSES", "glass"},
		{"POPPY'S PLAYHOUSE BEDROOM ", "bedroom"},
		{"PAPER CHAIN KIT 50'S CHRISTMAS ", "kit"},
		{"CHRISTMAS", ""},
		{"", ""},
		{"12 PENCILS SMALL TUBE RED RETROSPOT", "tube"},
	} {
		if got := categoryOf(c.in); got != c.want {
			t.Errorf("categoryOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
