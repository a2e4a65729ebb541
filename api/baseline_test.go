package api

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBaselineAppAnswersEverything(t *testing.T) {
	app := NewBaselineApp()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/products/p1/related?limit=10", ""},
		{"GET", "/v1/customers/c1/recommendations?limit=10", ""},
		{"POST", "/v1/events", `[{"customer_id":"c","product_id":"p","type":"view"}]`},
		{"GET", "/anything/else", ""},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s %s: %d %s", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var reply struct {
			Items []struct {
				ProductID string  `json:"product_id"`
				Score     float64 `json:"score"`
			} `json:"items"`
			RecommendationID string `json:"recommendation_id"`
		}
		if err := json.Unmarshal(b, &reply); err != nil || len(reply.Items) != 2 || reply.RecommendationID == "" {
			t.Fatalf("%s %s: body %s (%v)", c.method, c.path, b, err)
		}
	}
}
