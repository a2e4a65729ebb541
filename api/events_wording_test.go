package api

import (
	"strings"
	"testing"
)

// TestMalformedEventSaysSoOnce: the rejection of a line that is not JSON
// read "malformed JSON: malformed JSON at byte 61".
func TestMalformedEventSaysSoOnce(t *testing.T) {
	s := newOfferServer(t)
	body := `{"customer_id":"c1","product_id":"p1","type":"view"}` + "\n" + `{"customer_id":"c1","product_id":"p1","type":"view",}` + "\n"
	r := send(t, s.srv, "POST", "/v1/events", body, "Content-Type", "application/x-ndjson")
	var reply struct {
		Errors []struct {
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	r.decode(t, &reply)
	if len(reply.Errors) != 1 || !strings.Contains(reply.Errors[0].Detail, "malformed JSON") || strings.Count(reply.Errors[0].Detail, "malformed JSON") != 1 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}
