package eventio

import (
	"testing"

	"github.com/affinity-rec/affinity/features"
)

func TestMovieLens(t *testing.T) {
	rating := func(u, i string, r float64, ts int64) features.Event {
		return features.Event{CustomerID: u, ProductID: i, Type: "rating", Value: r, Timestamp: unix(ts)}
	}
	cases := []formatCase{
		{
			name:  "u.data lines",
			input: "196\t242\t3\t881250949\n186\t302\t3\t891717742\r\n\n22\t377\t1\t878887116",
			want:  []features.Event{rating("196", "242", 3, 881250949), rating("186", "302", 3, 891717742), rating("22", "377", 1, 878887116)},
		},
		{
			name:  "ratings.dat lines",
			input: "1::1193::5::978300760\n1::661::3.5::978302109\n",
			want:  []features.Event{rating("1", "1193", 5, 978300760), rating("1", "661", 3.5, 978302109)},
		},
		{
			name: "one rejection per bad line",
			input: "1\t2\t3\n" + // 1
				"1\t2\t3\t4\t5\n" + // 2
				"1\t2\tfive\t881250949\n" + // 3
				"1\t2\t3\tyesterday\n" + // 4
				"1\t2\t3\t\n" + // 5
				"\t2\t3\t881250949\n" + // 6
				"1 2 3 881250949\n" + // 7
				"1\t2\t3\t881250949\n", // 8
			want: []features.Event{rating("1", "2", 3, 881250949)},
			reasons: []string{"bad_field_count", "bad_field_count", "bad_value", "bad_timestamp",
				"missing_timestamp", "missing_customer_id", "bad_field_count"},
			lines: []int{1, 2, 3, 4, 5, 6, 7},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, FormatMovieLens) })
	}
}
