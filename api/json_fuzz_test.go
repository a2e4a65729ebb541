package api

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/affinity-rec/affinity/recommend"
)

// FuzzListReplyJSON holds the list encoder to encoding/json's bytes.
func FuzzListReplyJSON(f *testing.F) {
	f.Add("p1", 0.5, "r1", "personal", "exp", true)
	f.Add("a\"b\\c<d>&e\n\t\b\f\x01\u2028\u2029é\xff", 1e-7, "", "", "", false)
	f.Add("x", 1e21, "r", "popular", "v", true)
	f.Add("y", -0.000001, "r", "a", "b", true)
	f.Add("z", 123456789.123456, "r", "a", "b", false)
	f.Fuzz(func(t *testing.T, id string, score float64, rid, algo, exp string, inExp bool) {
		if math.IsNaN(score) || math.IsInf(score, 0) {
			return // sendList hands these to jsonMarshal (TestNonFiniteReplyIsEncoded)
		}
		r := listReply{Items: []recommend.Item{{ProductID: id, Score: score}, {ProductID: rid + id, Score: -score / 3}}, RecommendationID: rid, Algorithm: algo}
		if inExp {
			r.Experiment, r.Variant = &exp, &algo
		}
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func TestListReplyJSONEmpty(t *testing.T) {
	r := listReply{Items: []recommend.Item{}, RecommendationID: "r", Algorithm: "popular"}
	want, _ := json.Marshal(&r)
	if got := r.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("got %s, want %s", got, want)
	}
}
