package eventio

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// repoRoot is the directory holding go.mod, found from the test's working
// directory.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("cannot find go.mod above the working directory")
		}
		dir = parent
	}
}

// sharedData returns the path of a shared data set file (../shared/data
// next to the checkout), skipping the test when it is absent. The data sets
// are never copied into the project (MovieLens may not be redistributed).
func sharedData(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(repoRoot(tb), "..", "shared", "data", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("data set absent: %v", err)
	}
	return p
}

// result is everything a Reader produced from one input.
type result struct {
	events  []features.Event
	errs    []*LineError
	reasons map[string]int // reason -> lines, rejected and skipped alike
	fatal   error
}

// readAll drains r; it fails the test if Next does not make progress.
func readAll(tb testing.TB, r *Reader, maxCalls int) result {
	tb.Helper()
	res := result{reasons: map[string]int{}}
	for calls := 0; ; calls++ {
		if calls > maxCalls {
			tb.Fatalf("Next called %d times without reaching the end", calls)
		}
		ev, err := r.Next()
		if err == io.EOF {
			return res
		}
		var le *LineError
		if errors.As(err, &le) {
			res.errs = append(res.errs, le)
			res.reasons[le.Reason]++
			continue
		}
		if err != nil {
			res.fatal = err
			return res
		}
		res.events = append(res.events, ev)
	}
}

// readString reads input in format, failing the test on a NewReader error.
func readString(tb testing.TB, format, input string) result {
	tb.Helper()
	r, err := NewReader(strings.NewReader(input), format)
	if err != nil {
		tb.Fatalf("NewReader: %v", err)
	}
	defer r.Close()
	return readAll(tb, r, len(input)+10)
}

func gzipBytes(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// gunzipFile reads a whole gzip file into memory.
func gunzipFile(tb testing.TB, path string) []byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// formatCase is one input of a table test: the events it must give, and
// the reasons of its line errors in order ("skip:" marks skipped lines).
type formatCase struct {
	name    string
	input   string
	want    []features.Event
	reasons []string
	lines   []int // lines of the line errors, when checked
}

func (c formatCase) run(t *testing.T, format string) {
	t.Helper()
	res := readString(t, format, c.input)
	if res.fatal != nil {
		t.Fatalf("fatal error: %v", res.fatal)
	}
	var reasons []string
	var lines []int
	for _, le := range res.errs {
		r := le.Reason
		if le.Skipped {
			r = "skip:" + r
		}
		reasons = append(reasons, r)
		lines = append(lines, le.Line)
		if le.Error() == "" {
			t.Errorf("empty message for %v", r)
		}
	}
	if strings.Join(reasons, ",") != strings.Join(c.reasons, ",") {
		t.Errorf("reasons %q, want %q (errors: %v)", reasons, c.reasons, res.errs)
	}
	if c.lines != nil && !equalInts(lines, c.lines) {
		t.Errorf("lines %v, want %v", lines, c.lines)
	}
	if len(res.events) != len(c.want) {
		t.Fatalf("got %d events %+v, want %d", len(res.events), res.events, len(c.want))
	}
	for i, got := range res.events {
		want := c.want[i]
		if got.EventID == "" {
			t.Errorf("event %d has no id", i)
		}
		if want.EventID == "" {
			want.EventID = got.EventID
		}
		if !sameEvent(got, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sameEvent compares events, instants with time.Time.Equal.
func sameEvent(a, b features.Event) bool {
	ta, tb := a.Timestamp, b.Timestamp
	a.Timestamp, b.Timestamp = time.Time{}, time.Time{}
	return a == b && ta.Equal(tb)
}

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
