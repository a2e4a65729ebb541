package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/experiment"
)

// TestExposureBeforeDefinitionReload: a node applies another node's
// experiment exposure before its own reload of the experiment's definition
// (Records.Watch runs on its own goroutine, behind by however much the
// machine is loaded). The exposure is indexed all the same, and a click
// on it counted, so both nodes answer the same results. The reload is held
// back deterministically: a watcher of another kind that blocks, told of a
// change logged just before the definition, holds the watch goroutine.
func TestExposureBeforeDefinitionReload(t *testing.T) {
	nc := natstest.StartT(t, 1)
	a := startFullMember(t, t.TempDir(), nc.URLs())
	defer a.stop()
	b := startFullMember(t, t.TempDir(), nc.URLs())
	defer b.stop()
	release := make(chan struct{})
	open := sync.OnceFunc(func() { close(release) })
	defer open() // before the stops: b's watch goroutine must not stay held
	b.store.Records().Watch("test-gate", func(features.Change) { <-release })

	for p := 1; p <= 3; p++ {
		a.write("PUT", fmt.Sprintf("/v1/products/p%d", p), `{"category":"c","price":5}`, 200)
	}
	a.write("PUT", "/v1/customers/c1", `{"attributes":{"country":"France"}}`, 200)
	if err := a.store.Records().Put("test-gate", "g", []byte("x")); err != nil {
		t.Fatal(err)
	}
	a.write("PUT", "/v1/experiments/home", `{"status":"running","variants":[{"name":"fixed","weight":1,"params":{"algorithm":"fixed","products":["p1","p2","p3"]}}]}`, 200)
	code, raw := a.get("/v1/customers/c1/recommendations?experiment=home&limit=3", 0)
	var l struct {
		RecommendationID string `json:"recommendation_id"`
		Items            []struct {
			ProductID string `json:"product_id"`
		}
	}
	if err := json.Unmarshal(raw, &l); code != 200 || err != nil || len(l.Items) == 0 {
		t.Fatalf("recommendations: %d %s (%v)", code, raw, err)
	}
	if err := a.exps.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// b applies the exposure (its writer is free) while its reload of
	// "home" waits behind the gate; its flusher takes the exposure then.
	exposed := a.store.AppliedStreamSeq()
	for deadline := time.Now().Add(time.Minute); b.store.AppliedStreamSeq() < exposed; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("b did not apply sequence %d", exposed)
		}
	}
	if err := b.exps.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	open()
	ev := fmt.Sprintf(`[{"customer_id":"c1","product_id":%q,"type":"view","recommendation_id":%q}]`, l.Items[0].ProductID, l.RecommendationID)
	last := a.write("POST", "/v1/events", ev, 200)
	ms := []*member{a.member, b.member}
	for _, f := range []*fullMember{a, b} {
		f.waitFor(last)
	}
	var res struct {
		Variants []struct{ Exposures, Clicks int }
	}
	got := sameEverywhere(t, ms, last, "/v1/experiments/home/results")
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Variants) != 1 || res.Variants[0].Exposures != 1 || res.Variants[0].Clicks != 1 {
		t.Fatalf("results %s: want one exposure and its click", got)
	}
}

// TestResultsCountOwnExposure: results read on the node that served an
// exposure count it at once, as on a single node ("everything handed to
// the service before the call"), although in cluster mode the node indexes
// its own exposures only when it applies them from the log. The flusher
// never ticks here (a minute), so only the read's own flush can count it.
// Without the second pass of Flush in cluster mode this passes only when
// the flusher wins the race to its next cycle, as it usually does; with a
// 50 ms pause at the start of each cycle it fails every time.
func TestResultsCountOwnExposure(t *testing.T) {
	nc := natstest.StartT(t, 1)
	a := startFullMember(t, t.TempDir(), nc.URLs(), func(o *experiment.Options) { o.FlushInterval = time.Minute })
	defer a.stop()
	a.write("PUT", "/v1/products/p1", `{"category":"c","price":5}`, 200)
	a.write("PUT", "/v1/customers/c1", `{"attributes":{"country":"France"}}`, 200)
	a.write("PUT", "/v1/experiments/home", `{"status":"running","variants":[{"name":"fixed","weight":1,"params":{"algorithm":"fixed","products":["p1"]}}]}`, 200)
	if code, raw := a.get("/v1/customers/c1/recommendations?experiment=home&limit=3", 0); code != 200 {
		t.Fatalf("recommendations: %d %s", code, raw)
	}
	code, raw := a.get("/v1/experiments/home/results", 0)
	var res struct {
		Variants []struct{ Exposures int }
	}
	if err := json.Unmarshal(raw, &res); code != 200 || err != nil || len(res.Variants) != 1 || res.Variants[0].Exposures != 1 {
		t.Fatalf("results: %d %s (%v): want the exposure just served", code, raw, err)
	}
}
