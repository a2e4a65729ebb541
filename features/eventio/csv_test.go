package eventio

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

func TestCSV(t *testing.T) {
	ts := time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
	cases := []formatCase{
		{
			name:  "required columns only",
			input: "customer_id,product_id\nc1,p1\n",
			want:  []features.Event{{CustomerID: "c1", ProductID: "p1", Type: "purchase"}},
		},
		{
			name: "every column",
			input: "event_id,customer_id,product_id,event_type,timestamp,value,quantity,order_id,recommendation_id\n" +
				"e1,c1,p1,view,1709296200,12.5,2,o1,r1\n",
			want: []features.Event{{EventID: "e1", CustomerID: "c1", ProductID: "p1", Type: "view",
				Timestamp: ts, Value: 12.5, Quantity: 2, OrderID: "o1", RecommendationID: "r1"}},
		},
		{
			name:  "type alias, RFC 3339, any order and case, unknown columns",
			input: "Product_ID, note ,TYPE,Customer_Id,timestamp\np1,\"a, \"\"b\"\"\",cart,c1,2024-03-01T13:30:00+01:00\n",
			want:  []features.Event{{CustomerID: "c1", ProductID: "p1", Type: "cart", Timestamp: ts}},
		},
		{
			name:  "BOM, CRLF, blank line, spaces trimmed, empty optional cells",
			input: "\ufeffcustomer_id,product_id,value,event_type\r\n c1 , p1 ,,\r\n\r\nc2,p2,1e1,\r\n",
			want: []features.Event{
				{CustomerID: "c1", ProductID: "p1", Type: "purchase"},
				{CustomerID: "c2", ProductID: "p2", Type: "purchase", Value: 10},
			},
		},
		{
			name:  "quoted field over two lines",
			input: "customer_id,product_id,note\nc1,p1,\"two\nlines\"\n,p2,x\n",
			want:  []features.Event{{CustomerID: "c1", ProductID: "p1", Type: "purchase"}},
			// The second record starts on line 4, after the two-line one.
			reasons: []string{"missing_customer_id"},
			lines:   []int{4},
		},
		{
			name: "one rejection per bad line, the rest read",
			input: "customer_id,product_id,timestamp,value,quantity,type\n" +
				",p,,,,\n" + // 2
				"c,,,,,\n" + // 3
				"c,p,yesterday,,,\n" + // 4
				"c,p,,cheap,,\n" + // 5
				"c,p,,,-1,\n" + // 6
				"c,p,,,many,\n" + // 7
				"c,p,,NaN,,\n" + // 8
				"c,p,,,,pur chase\n" + // 9
				"c\x01,p,,,,\n" + // 10
				"c,p,,,\n" + // 11
				"c,p,,,,,\n" + // 12
				"c,p\"q,,,,\n" + // 13
				"c,p,1800000000000,,,\n" + // 14
				"c,ok,,,,\n", // 15
			want: []features.Event{{CustomerID: "c", ProductID: "ok", Type: "purchase"}},
			reasons: []string{"missing_customer_id", "missing_product_id", "bad_timestamp", "bad_value",
				"bad_quantity", "bad_quantity", "bad_value", "bad_type", "bad_customer_id",
				"bad_field_count", "bad_field_count", "bad_csv", "bad_timestamp"},
			lines: []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14},
		},
		{
			name:    "id too long",
			input:   "customer_id,product_id\n" + strings.Repeat("x", 257) + ",p\n",
			reasons: []string{"bad_customer_id"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, FormatCSV) })
	}
}

func TestCSVHeader(t *testing.T) {
	for _, c := range []struct{ name, input string }{
		{"empty input", ""},
		{"no product_id", "customer_id,value\nc,1\n"},
		{"no customer_id", "product_id\np\n"},
		{"type twice", "customer_id,product_id,type,event_type\n"},
		{"customer twice", "customer_id,product_id,CUSTOMER_ID\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(c.input), FormatCSV)
			if !errors.Is(err, ErrBadHeader) {
				t.Fatalf("got %v, want ErrBadHeader", err)
			}
		})
	}
}

func TestCSVFieldErrorUnwraps(t *testing.T) {
	res := readString(t, FormatCSV, "customer_id,product_id,timestamp\nc,p,soon\n")
	var fe *features.FieldError
	if len(res.errs) != 1 || !errors.As(res.errs[0], &fe) || fe.Field != "timestamp" {
		t.Fatalf("got %v, want a FieldError for timestamp", res.errs)
	}
}
