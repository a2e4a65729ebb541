package eval

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// readMovieLens reads MovieLens u.data (user, item, rating, unix time, tab
// separated) in file order, skipping the test when the file is absent.
func readMovieLens(t testing.TB) []features.Event {
	t.Helper()
	const path = "/work/shared/data/movielens-100k/u.data"
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s not present", path)
	}
	if err != nil {
		t.Fatalf("cannot open MovieLens: %v", err)
	}
	defer f.Close()
	var events []features.Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 4 {
			t.Fatalf("line %d: %d fields, want 4", len(events)+1, len(fields))
		}
		rating, err1 := strconv.ParseFloat(fields[2], 64)
		ts, err2 := strconv.ParseInt(fields[3], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("line %d: %v", len(events)+1, err)
		}
		events = append(events, features.Event{
			CustomerID: fields[0], ProductID: fields[1], Type: "rating",
			Value: rating, Timestamp: time.Unix(ts, 0).UTC(),
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("cannot read MovieLens: %v", err)
	}
	return events
}

func TestSplitMovieLens100K(t *testing.T) {
	events := readMovieLens(t)
	train, test, err := Split(events, DefaultSplitOptions())
	if err != nil {
		t.Fatal(err)
	}

	// The sizes follow from the per-item floor alone (any seed): the sum
	// over items of floor(0.75 n).
	perItem := map[string]int{}
	for _, e := range events {
		perItem[e.ProductID]++
	}
	wantTrain := 0
	for _, n := range perItem {
		wantTrain += n * 3 / 4
	}
	if len(train) != wantTrain || len(train)+len(test) != len(events) {
		t.Errorf("train %d, test %d; want train %d of %d", len(train), len(test), wantTrain, len(events))
	}
	if len(train) < 74000 || len(train) > 76000 {
		t.Errorf("train has %d events, want about 75k", len(train))
	}

	// The test set is, row for row, the one Microsoft Recommenders'
	// python_stratified_split(ratio=0.75, filter_by="item", seed=42) draws:
	// the fingerprint was taken from numpy 1.24 / pandas 1.5 following
	// their procedure on the same file.
	if got := fingerprint(test); got != "f2801c3835aa0dd175317d5a57f152616d15be721479e8668ef1c59bdfd6257e" {
		t.Errorf("item-stratified test set fingerprint %s differs from Microsoft Recommenders'", got)
	}
	o := DefaultSplitOptions()
	o.Method = SplitUserStratified
	_, userTest, err := Split(events, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := fingerprint(userTest); len(userTest) != 25354 ||
		got != "d3203635ec03be530397cdd91a05225a2c9ef39c62caef2276f549bbe007a560" {
		t.Errorf("user-stratified test set (%d events, fingerprint %s) differs from Microsoft Recommenders'",
			len(userTest), got)
	}

	gt, st := BuildGroundTruth(train, test, StratifiedGroundTruthOptions())
	t.Logf("train %d events, test %d events; ground truth: %+v; %d items, %d in train",
		len(train), len(test), st, len(perItem), DistinctProducts(train))
	// Every user rated at least 20 movies, so each has ratings in test
	// and, with so many items, in train too.
	if st.TestCustomers != 943 || st.ColdCustomers != 0 || len(gt) != 943 {
		t.Errorf("test users %d, cold %d, evaluated %d; want 943, 0, 943",
			st.TestCustomers, st.ColdCustomers, len(gt))
	}
	if st.Pairs != len(test) || st.SeenPairs != 0 {
		t.Errorf("ground truth pairs %d (seen in train %d), want %d (0)", st.Pairs, st.SeenPairs, len(test))
	}
}

// fingerprint is the SHA-256 of "customer\tproduct\n" for each event in
// order.
func fingerprint(events []features.Event) string {
	h := sha256.New()
	for _, e := range events {
		fmt.Fprintf(h, "%s\t%s\n", e.CustomerID, e.ProductID)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestSplitMovieLens100KTemporal(t *testing.T) {
	events := readMovieLens(t)
	train, test, err := Split(events, SplitOptions{Method: SplitTemporal, TestRatio: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	maxTrain := train[0].Timestamp
	for _, e := range train {
		if e.Timestamp.After(maxTrain) {
			maxTrain = e.Timestamp
		}
	}
	for _, e := range test {
		if !e.Timestamp.After(maxTrain) {
			t.Fatalf("test event at %v not after the last train event %v", e.Timestamp, maxTrain)
		}
	}
	share := float64(len(test)) / float64(len(events))
	if share < 0.2 || share > 0.201 {
		t.Errorf("test share %.4f, want 0.2 (a little more only for ties)", share)
	}
	_, st := BuildGroundTruth(train, test, StratifiedGroundTruthOptions())
	t.Logf("temporal 80/20: train %d, test %d; ground truth %+v", len(train), len(test), st)
}

func BenchmarkSplitItemStratified(b *testing.B) {
	events := readMovieLens(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Split(events, DefaultSplitOptions()); err != nil {
			b.Fatal(err)
		}
	}
}
