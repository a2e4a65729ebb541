package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// playLog writes a music service's log as CSV: 80 listeners in four
// tastes, each playing four of their taste's eight songs, with play counts
// as values, over two weeks (the last days are a temporal test).
func playLog(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("customer_id,product_id,event_type,timestamp,value\n")
	for u := range 80 {
		taste := u % 4
		for i := range 5 {
			song := (u/4 + i*3) % 8
			fmt.Fprintf(&b, "u%d,s%d-%d,play,2024-01-%02dT12:00:00Z,%d\n", u, taste, song, 1+i*3, 1+(u*7+i)%40)
		}
	}
	path := filepath.Join(t.TempDir(), "plays.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEvalUnknownTypeNamesTheOption: a log of a type the defaults do not
// know is refused with a message naming the type, its count and the
// option that configures it, instead of evaluating nothing.
func TestEvalUnknownTypeNamesTheOption(t *testing.T) {
	file := playLog(t)
	var out, errOut bytes.Buffer
	err := runEval(context.Background(), []string{"--format", "csv", "--split", "temporal", "--test-ratio", "0.2", file}, &out, &errOut)
	if err == nil {
		t.Fatal("eval accepted a type it does not know")
	}
	for _, want := range []string{`"play" (400 events)`, `"event_types"`, "--config", "use_value"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestEvalConfigAndReport: with the serve config's event types the play
// log is evaluated (affinity and both baselines read the plays), and
// --out writes the HTML report: the table, one line per algorithm in both
// charts, and the settings the self-tuner chose.
func TestEvalConfigAndReport(t *testing.T) {
	file := playLog(t)
	conf := writeFile(t, "serve.json", `{"event_types": {"play": {"weight": 1, "class": "bought", "use_value": true}}}`)
	report := filepath.Join(t.TempDir(), "report.html")
	var out, errOut bytes.Buffer
	err := runEval(context.Background(), []string{"--format", "csv", "--split", "temporal", "--test-ratio", "0.2",
		"--config", conf, "--out", report, "--json", file}, &out, &errOut)
	if err != nil {
		t.Fatalf("eval: %v (stderr %s)", err, errOut.String())
	}
	var rep struct {
		Algo      string
		Users     int
		NDCG      float64
		Curve     *struct{ NDCG, Recall []float64 }
		Tuning    map[string]any
		Baselines []struct{ Algo string }
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Algo != "affinity" || rep.Users != 80 || rep.NDCG <= 0 || len(rep.Baselines) != 2 {
		t.Errorf("report %s", out.String())
	}
	if rep.Curve == nil || len(rep.Curve.NDCG) != curveK || len(rep.Curve.Recall) != curveK {
		t.Fatalf("no curve of %d points: %+v", curveK, rep.Curve)
	}
	if rep.Curve.Recall[curveK-1] < rep.Curve.Recall[9] {
		t.Errorf("recall@50 %v below recall@10 %v", rep.Curve.Recall[curveK-1], rep.Curve.Recall[9])
	}
	if rep.Tuning == nil || rep.Tuning["holdout"] != "temporal" {
		t.Errorf("tuning %v, want the self-tuner's choice on a temporal slice", rep.Tuning)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{"<svg", "nDCG@k", "recall@k", "Settings the model chose", "half-life", "sar", "popularity"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(html, "<polyline"); n != 6 {
		t.Errorf("%d lines in the charts, want 3 algorithms x 2 charts", n)
	}
	out.Reset()
	if err := runEval(context.Background(), []string{"--format", "csv", "--split", "temporal", "--test-ratio", "0.2",
		"--config", conf, "--baselines=false", file}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "tuned     ease lambda") || !strings.Contains(out.String(), "temporal slice of the train events") {
		t.Errorf("the table does not say what was tuned:\n%s", out.String())
	}
	if strings.Contains(html, "http://") || strings.Contains(html, "https://") || strings.Contains(html, "<script") {
		t.Error("the report loads something from outside or runs a script")
	}
}

// TestEvalConfigOptions: the config's model options reach the served
// default but not the fixed baselines, and a bad config is refused.
func TestEvalConfigOptions(t *testing.T) {
	fc := fileConfig{Similarity: "cosine", Neighbours: 50, HalfLifeDays: 7}
	for _, name := range []string{"affinity", "sar"} {
		a, err := lookupWithConfig(fc, name)
		if err != nil {
			t.Fatal(err)
		}
		tuned := a.Neighbours.Similarity == "cosine" && a.Neighbours.K == 50 && !a.Neighbours.Tune && !a.Engine.UseTuning
		if tuned != (name == "affinity") {
			t.Errorf("%s: %+v / %+v", name, a.Neighbours, a.Engine)
		}
	}
	if _, err := lookupWithConfig(fileConfig{Similarity: "magic"}, "affinity"); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Errorf("bad similarity: %v", err)
	}
	file := evalShop(t)
	bad := writeFile(t, "bad.json", `{"event_typez": {}}`)
	var out bytes.Buffer
	if err := runEval(context.Background(), []string{"--format", "csv", "--config", bad, file}, &out, &out); err == nil || !strings.Contains(err.Error(), "event_typez") {
		t.Errorf("unknown config field: %v", err)
	}
}

// TestImportUnknownTypeHint: import counts the events of a type nobody
// configured and says which option configures it.
func TestImportUnknownTypeHint(t *testing.T) {
	file := playLog(t)
	var out, errOut bytes.Buffer
	// Nothing was accepted, so the import fails, pointing at the hint.
	if err := run(context.Background(), []string{"import", "--data", t.TempDir(), "--format", "csv", file}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "event types") {
		t.Fatalf("import of only unconfigured types: %v", err)
	}
	if !strings.Contains(errOut.String(), `"play" (400 events)`) || !strings.Contains(errOut.String(), `"event_types"`) {
		t.Errorf("no hint naming the type and the option:\n%s", errOut.String())
	}
	out.Reset()
	errOut.Reset()
	conf := writeFile(t, "serve.json", `{"event_types": {"play": {"weight": 1, "class": "bought", "use_value": true}}}`)
	if err := run(context.Background(), []string{"import", "--data", t.TempDir(), "--format", "csv", "--config", conf, file}, &out, &errOut); err != nil {
		t.Fatalf("import: %v", err)
	}
	if !strings.Contains(out.String(), "accepted     400") || strings.Contains(errOut.String(), "event_types") {
		t.Errorf("with the config: %s / %s", out.String(), errOut.String())
	}
}
