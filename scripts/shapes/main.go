// Command shapes writes the robustness test shapes of docs/evaluation.md
// from the two public data sets the project evaluates on: data unlike
// them (sparse, play counts, a large catalogue with few customers each),
// made by sampling and relabelling their real events with fixed seeds, so
// that `scripts/shapes.sh` can measure the default on them.
//
//	go run ./scripts/shapes OUTDIR SHAREDDATA
//
// Every file is a CSV for `affinity eval --format csv`
// (customer_id,product_id,event_type,timestamp,value).
package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/eventio"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: shapes OUTDIR SHAREDDATA")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "shapes:", err)
		os.Exit(1)
	}
}

func run(out, data string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ml, err := read(filepath.Join(data, "movielens-100k/u.data"), "movielens")
	if err != nil {
		return err
	}
	retail, err := read(filepath.Join(data, "uci-online-retail/online_retail.csv.gz"), "online-retail")
	if err != nil {
		return err
	}
	shapes := []struct {
		name string
		evs  []features.Event
	}{
		// About 900 products, 1,400 customers, 3 to 5 products each: the
		// small sparse catalogue the default did worst on.
		{"retail-sparse", sparse(retail, 1400, 900, 3, 5, 11)},
		// MovieLens thinned to 3 to 5 ratings per customer among the
		// 1,000 most rated movies.
		{"ml-sparse", sparse(ml, 943, 1000, 3, 5, 12)},
		// Play counts: every purchase line a "play" whose value is the
		// quantity (heavy-tailed: median 6, max 80,995).
		{"retail-plays", plays(retail)},
		// 10k+ products, few customers each: every product split into
		// four regional variants by the customer's region (a hash).
		{"retail-variants", variants(retail, 4)},
	}
	for _, s := range shapes {
		if err := write(filepath.Join(out, s.name+".csv.gz"), s.evs); err != nil {
			return err
		}
		fmt.Printf("%-16s %7d events, %5d customers, %5d products\n", s.name, len(s.evs), distinct(s.evs, true), distinct(s.evs, false))
	}
	return nil
}

func read(file, format string) ([]features.Event, error) {
	r, err := eventio.Open(file, format)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []features.Event
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		var le *eventio.LineError
		if errors.As(err, &le) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
}

// sparse keeps nCust random customers and, of their events on the nProd
// products with most customers, lo..hi random distinct products each.
func sparse(evs []features.Event, nCust, nProd, lo, hi int, seed uint64) []features.Event {
	rng := rand.New(rand.NewPCG(seed, 1))
	top := topProducts(evs, nProd)
	byCust := map[string][]features.Event{}
	for _, e := range evs {
		if top[e.ProductID] {
			byCust[e.CustomerID] = append(byCust[e.CustomerID], e)
		}
	}
	custs := make([]string, 0, len(byCust))
	for c, h := range byCust {
		if distinct(h, false) >= lo {
			custs = append(custs, c)
		}
	}
	sort.Strings(custs)
	rng.Shuffle(len(custs), func(i, j int) { custs[i], custs[j] = custs[j], custs[i] })
	var out []features.Event
	for _, c := range custs[:min(nCust, len(custs))] {
		h := byCust[c]
		var prods []string
		for _, e := range h {
			if !slices.Contains(prods, e.ProductID) {
				prods = append(prods, e.ProductID)
			}
		}
		rng.Shuffle(len(prods), func(i, j int) { prods[i], prods[j] = prods[j], prods[i] })
		keep := prods[:min(len(prods), lo+rng.IntN(hi-lo+1))]
		for _, e := range h {
			if slices.Contains(keep, e.ProductID) {
				out = append(out, e)
				keep = slices.DeleteFunc(keep, func(p string) bool { return p == e.ProductID })
			}
		}
	}
	return out
}

func topProducts(evs []features.Event, n int) map[string]bool {
	custs := map[string]map[string]bool{}
	for _, e := range evs {
		if custs[e.ProductID] == nil {
			custs[e.ProductID] = map[string]bool{}
		}
		custs[e.ProductID][e.CustomerID] = true
	}
	prods := make([]string, 0, len(custs))
	for p := range custs {
		prods = append(prods, p)
	}
	sort.Slice(prods, func(i, j int) bool {
		a, b := len(custs[prods[i]]), len(custs[prods[j]])
		return a > b || a == b && prods[i] < prods[j]
	})
	top := map[string]bool{}
	for _, p := range prods[:min(n, len(prods))] {
		top[p] = true
	}
	return top
}

func plays(evs []features.Event) []features.Event {
	out := make([]features.Event, len(evs))
	for i, e := range evs {
		out[i] = features.Event{CustomerID: e.CustomerID, ProductID: e.ProductID, Type: "play", Timestamp: e.Timestamp, Value: e.Quantity}
	}
	return out
}

func variants(evs []features.Event, n uint32) []features.Event {
	out := make([]features.Event, len(evs))
	for i, e := range evs {
		h := fnv.New32a()
		h.Write([]byte(e.CustomerID))
		e.ProductID = fmt.Sprintf("%s-%d", e.ProductID, h.Sum32()%n)
		e.Value = 0
		out[i] = e
	}
	return out
}

func distinct(evs []features.Event, customers bool) int {
	seen := map[string]bool{}
	for _, e := range evs {
		if customers {
			seen[e.CustomerID] = true
		} else {
			seen[e.ProductID] = true
		}
	}
	return len(seen)
}

func write(file string, evs []features.Event) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	w := bufio.NewWriter(zw)
	fmt.Fprintln(w, "customer_id,product_id,event_type,timestamp,value")
	for _, e := range evs {
		fmt.Fprintf(w, "%s,%s,%s,%d,%g\n", csvField(e.CustomerID), csvField(e.ProductID), e.Type, e.Timestamp.Unix(), e.Value)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func csvField(s string) string {
	for _, r := range s {
		if r == ',' || r == '"' || r == '\n' {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
	}
	return s
}
