package offer

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"
)

func TestNBOBudgetIsExactUnderConcurrency(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	const budget = 5
	e.put("b", Offer{Value: 1, Priority: 1, Budget: budget})
	// Open exposures hold the budget: of 40 simultaneous customers, exactly
	// budget get the offer.
	got := chooseAllAtOnce(t, e, 40)
	if len(got) != budget {
		t.Fatalf("%d customers got the offer at once, budget %d", len(got), budget)
	}
	// Declines give the budget back; acceptances use it. Many goroutines
	// now race to show and answer until the budget is spent.
	for i, s := range got {
		resp := "declined"
		if i < 2 {
			resp = "accepted"
		}
		if err := e.respond("b", s.cust, s.rec, resp); err != nil {
			t.Fatal(err)
		}
	}
	accepted := raceToSpendBudget(t, e, budget)
	n := 2
	accepted.Range(func(_, _ any) bool { n++; return true })
	v, _ := e.svc.Get("b")
	if v.Performance.Accepted != budget || n != budget || *v.Performance.BudgetLeft != 0 {
		t.Fatalf("accepted %d (answers said %d), budget %d: %+v", v.Performance.Accepted, n, budget, v.Performance)
	}
	if res := e.choose("late", 1, ""); len(res.Offers) != 0 {
		t.Fatalf("spent offer still shown: %+v", res)
	}
	e.restart()
	if res := e.choose("late", 1, ""); len(res.Offers) != 0 {
		t.Fatalf("spent offer shown after a restart: %+v", res)
	}
}

// shownOffer is a customer shown an offer, with the recommendation id that
// answers it.
type shownOffer struct{ cust, rec string }

// chooseAllAtOnce has customers first-0..first-(n-1) ask for an offer at
// the same moment and returns those who were shown one.
func chooseAllAtOnce(t *testing.T, e *offerTestEnv, n int) []shownOffer {
	var mu sync.Mutex
	var got []shownOffer
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			cust := fmt.Sprintf("first-%d", g)
			res, err := e.svc.Choose(context.Background(), Request{CustomerID: cust})
			if err != nil {
				t.Error(err)
				return
			}
			if len(res.Offers) > 0 {
				mu.Lock()
				got = append(got, shownOffer{cust, res.RecommendationID})
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	return got
}

// raceToSpendBudget has 16 goroutines show offer b to 25 new customers each
// and answer it (a third accepted, the rest declined) while the budget
// lasts, checking after every answer that accepted plus open exposures
// never exceed the budget. It returns the customers who accepted.
func raceToSpendBudget(t *testing.T, e *offerTestEnv, budget uint64) *sync.Map {
	var wg sync.WaitGroup
	var accepted sync.Map
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(g), 1))
			for i := 0; i < 25; i++ {
				cust := fmt.Sprintf("g%d-%d", g, i)
				res, err := e.svc.Choose(context.Background(), Request{CustomerID: cust})
				if err != nil {
					t.Error(err)
					return
				}
				if len(res.Offers) == 0 {
					continue
				}
				resp := "declined"
				if rng.IntN(3) == 0 {
					resp = "accepted"
				}
				if err := e.respond("b", cust, res.RecommendationID, resp); err != nil {
					t.Error(err)
					return
				}
				if resp == "accepted" {
					accepted.Store(cust, true)
				}
				v, _ := e.svc.Get("b")
				if p := v.Performance; p.Accepted+p.Open > budget {
					t.Errorf("accepted %d + open %d over budget %d", p.Accepted, p.Open, budget)
				}
			}
		}(g)
	}
	wg.Wait()
	return &accepted
}

func TestNBOCapIsExactUnderConcurrency(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.put("capped", Offer{Value: 1, Priority: 1, MaxPerCustomer: 3})
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.svc.Choose(context.Background(), Request{CustomerID: "same"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			n += len(res.Offers)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n != 3 {
		t.Fatalf("one customer shown a 3-per-customer offer %d times", n)
	}
	e.restart()
	if res := e.choose("same", 1, ""); len(res.Offers) != 0 {
		t.Fatalf("cap forgotten on restart: %+v", res)
	}
	if res := e.choose("other", 1, ""); len(res.Offers) != 1 {
		t.Fatalf("another customer is not capped: %+v", res)
	}
}
