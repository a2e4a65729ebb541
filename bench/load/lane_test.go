package load

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestRunEventStallSparesReads: the server's event POSTs stall for longer
// than the run (a durable commit stuck behind disk writeback), its reads
// answer at once. In open loop the mixed scenario's reads have their own
// lane, so every read slot is sent and answered; only the events lane falls
// behind. With one shared pool both workers would end up holding event
// POSTs and the reads falling due meanwhile would go unsent.
func TestRunEventStallSparesReads(t *testing.T) {
	block := make(chan struct{})
	f := newFakeServer(t, func(f *fakeServer) { f.blockEvents = block })
	t.Cleanup(func() { close(block) }) // before the server's Close, which waits for handlers

	o := testOptions(f.URL)
	o.Scenario = ScenarioMixed
	o.Concurrency = 2
	o.Rate = 40 // reads (80%) at 32/s, events (20%) at 8/s
	o.Duration = 500 * time.Millisecond
	o.Timeout = 2 * o.Duration // an event POST sent during the run is still held when it ends
	const readSlots, eventSlots = 16, 4
	res, err := Run(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.check(t)

	var reads, readErrs, events int64
	for _, k := range res.Kinds {
		if k.Kind == "events" {
			events = k.Requests
			continue
		}
		reads += k.Requests
		readErrs += k.Errors
	}
	if reads != readSlots || readErrs != 0 {
		t.Errorf("reads: %d answered, %d failed, want all %d scheduled answered (errors %v)", reads, readErrs, readSlots, res.ErrorsByKind)
	}
	if res.Requests != readSlots+eventSlots {
		t.Errorf("requests %d, want the %d scheduled", res.Requests, readSlots+eventSlots)
	}
	if events > int64(o.Concurrency) {
		t.Errorf("%d event POSTs sent, want at most the events lane's %d workers", events, o.Concurrency)
	}
	if u := res.ErrorsByKind["unsent"]; u != eventSlots-events {
		t.Errorf("unsent %d, want the %d event slots the stalled events lane could not send", u, eventSlots-events)
	}
	if res.ErrorsByKind["timeout"] != events {
		t.Errorf("errors %v, want the %d sent event POSTs timed out", res.ErrorsByKind, events)
	}
}

// TestPlanLanes checks which runs split into lanes and how: the reads lane
// keeps the read kinds' proportions, the events lane sends only events, and
// the lanes' rates add up to the run's.
func TestPlanLanes(t *testing.T) {
	ids := IDs{Products: []string{"a", "b", "c"}, Customers: []string{"x", "y"}}
	mixed, err := newPlan(ScenarioMixed, "http://h", "", ids, 7)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.Scenario, o.Rate = ScenarioMixed, 1000

	lanes := newLanes(o, mixed, time.Second)
	if len(lanes) != 2 || lanes[0].name != "reads" || lanes[1].name != "events" {
		t.Fatalf("open-loop mixed: %d lanes, want reads and events", len(lanes))
	}
	if lanes[1].first != o.Concurrency || lanes[0].workers != o.Concurrency || lanes[1].workers != o.Concurrency {
		t.Errorf("lanes' workers %d+%d from %d, %d: want %d each, numbered apart", lanes[0].workers, lanes[1].workers, lanes[0].first, lanes[1].first, o.Concurrency)
	}
	if got := maxInFlight(o); got != 2*o.Concurrency {
		t.Errorf("max in flight %d, want %d", got, 2*o.Concurrency)
	}
	if lanes[0].slots != 800 || lanes[1].slots != 200 {
		t.Errorf("slots in 1 s: reads %d, events %d, want 800 and 200", lanes[0].slots, lanes[1].slots)
	}

	const n = 80000
	var got [numKinds]int
	pk := mixed.newBlendPicker(&lanes[0].blend, 0)
	for range n {
		got[pk.kind()]++
	}
	for k, w := range mixedWeights {
		want := 0.0
		if requestKind(k) != kindEvents {
			want = 100 * float64(w) / 80
		}
		if share := 100 * float64(got[k]) / n; math.Abs(share-want) > 1 {
			t.Errorf("reads lane: %s %.2f%%, want %.2f%%", kindNames[k], share, want)
		}
	}
	pk = mixed.newBlendPicker(&lanes[1].blend, o.Concurrency)
	for range 1000 {
		if k := pk.kind(); k != kindEvents {
			t.Fatalf("events lane drew %s", kindNames[k])
		}
	}

	// Closed loop and single-kind scenarios keep one lane of every kind.
	popular, err := newPlan(ScenarioPopular, "http://h", "", ids, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		scenario string
		rate     float64
		p        *plan
	}{{ScenarioMixed, 0, mixed}, {ScenarioPopular, 1000, popular}} {
		o.Scenario, o.Rate = c.scenario, c.rate
		lanes := newLanes(o, c.p, time.Second)
		if len(lanes) != 1 || lanes[0].blend != c.p.all || lanes[0].first != 0 {
			t.Errorf("%s at rate %v: %d lanes, want one of the whole blend", c.scenario, c.rate, len(lanes))
		}
		if got := maxInFlight(o); got != o.Concurrency {
			t.Errorf("%s at rate %v: max in flight %d, want %d", c.scenario, c.rate, got, o.Concurrency)
		}
	}
}
