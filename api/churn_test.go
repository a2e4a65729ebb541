package api

import (
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features/crm"
)

// getLive GETs (or PUTs a JSON body to) url over a real connection and
// decodes the reply into v, failing unless the status is want.
func getLive(t *testing.T, method, url, body string, want int, v any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, want, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s %s: %v in %s", method, url, err, b)
	}
}

// TestChurnAndExpectedValueHTTP serves the demo data over a real listener:
// before a value refresh the model fields are null; after one, profiles
// of buyers carry churn_risk, p_alive and expected_value in range (null
// for a customer who never bought), insights carry the
// fitted model and per-tier figures that add up to the profiles', and a
// segment over churn_risk and expected_value has the members the profiles
// say (every reply is checked against api/openapi.yaml).
func TestChurnAndExpectedValueHTTP(t *testing.T) {
	s := newSegServer(t, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.srv.App().Listener(ln)
	defer s.srv.App().Shutdown()
	base := "http://" + ln.Addr().String()

	var ins crm.ValueSummary
	getLive(t, "GET", base+"/v1/insights/value", "", 200, &ins)
	if ins.Model != nil {
		t.Fatalf("a model before any purchase: %+v", ins.Model)
	}
	s.loadDemo(t) // ingests every third demo event, then refreshes values
	getLive(t, "GET", base+"/v1/insights/value", "", 200, &ins)
	m := ins.Model
	if m == nil || m.Customers != ins.Buyers || m.HorizonDays != 90 || !(m.BGNBD.R > 0) || !(m.BGNBD.AlphaDays > 0) || !(m.GammaGamma.Q > 1) {
		t.Fatalf("model %+v over %d buyers", m, ins.Buyers)
	}
	sumEV := map[string]float64{}
	churned := 0
	for c := 0; c < s.st.NumCustomers(); c++ {
		id := s.st.CustomerName(uint32(c))
		var prof struct{ Value crm.Value }
		getLive(t, "GET", base+"/v1/customers/"+id+"/profile", "", 200, &prof)
		v := prof.Value
		if v.Tier == crm.TierProspect {
			if v.ChurnRisk != nil || v.PAlive != nil || v.ExpectedValue != nil {
				t.Fatalf("%s never bought, yet %+v", id, v)
			}
			continue
		}
		if v.ChurnRisk == nil || v.PAlive == nil || v.ExpectedValue == nil {
			t.Fatalf("%s: no model figures in %+v", id, v)
		}
		if *v.ChurnRisk < 0 || *v.ChurnRisk > 1 || *v.PAlive < 0 || *v.PAlive > 1 || *v.ExpectedValue < 0 {
			t.Fatalf("%s: figures out of range: %+v", id, v)
		}
		sumEV[v.Tier] += *v.ExpectedValue
		if *v.ChurnRisk > 0.5 && *v.ExpectedValue > 50 {
			churned++
		}
	}
	for _, tr := range ins.Tiers {
		if tr.Customers == 0 || tr.Tier == crm.TierProspect {
			continue
		}
		if tr.MeanChurnRisk == nil || tr.ExpectedValue == nil || math.Abs(*tr.ExpectedValue-sumEV[tr.Tier]) > 1e-3*max(1, sumEV[tr.Tier]) {
			t.Fatalf("tier %+v; its profiles' expected_value sums to %v", tr, sumEV[tr.Tier])
		}
	}
	var seg crm.Segment
	getLive(t, "PUT", base+"/v1/segments/slipping", `{"rule":"churn_risk > 0.5 && expected_value > 50"}`, 200, &seg)
	if seg.Members != churned || churned == 0 {
		t.Fatalf("segment %+v; the profiles say %d", seg, churned)
	}
}
