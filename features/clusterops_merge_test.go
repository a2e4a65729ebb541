package features

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestApplyMergeOps: merge ops applied from the log move the history and
// record the ids merged into the target, handed on along a chain (a into
// b, then b into c); a merge refused at apply time (from unknown by then)
// is the op's result and the apply goes on, with its sequence recorded;
// an erasure of the target erases every merged id still known here (one
// that came back with new events) and deletes the record; the sequences
// survive a reopen.
func TestApplyMergeOps(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	s.SetOpLog(nil) // applies only
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ev := func(c, p string) Event {
		return Event{CustomerID: c, ProductID: p, Type: "view", Timestamp: at}
	}
	op := func(k OpKind, fields ...string) []byte {
		fs := make([][]byte, len(fields))
		for i, f := range fields {
			fs[i] = []byte(f)
		}
		return EncodeOp(Op{Kind: k, Fields: fs})
	}
	if err := s.ApplyLog(ctx, []LogEntry{{Seq: 1, Data: EncodeLogEvents([]Event{ev("a", "p1"), ev("b", "p2"), ev("c", "p3"), ev("z", "p4")})}}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		msg  []byte
		want error
	}{
		{op(OpCustomerMerge, "a", "b"), nil},
		{op(OpCustomerMerge, "nobody", "b"), ErrNotFound},
		{op(OpCustomerMerge, "b", "c"), nil},
		{op(OpCustomerMerge, "a", "z"), ErrMergedElsewhere},
	}
	for i, st := range steps {
		seq := uint64(i + 2)
		ch := make(chan opResult, 1)
		s.ops.waits[s.ops.token+"/x"] = ch
		var o Op
		o, _ = DecodeOp(st.msg)
		o.Origin = s.ops.token + "/x"
		if err := s.ApplyOp(ctx, seq, EncodeOp(o)); err != nil {
			t.Fatalf("op %d: %v", seq, err)
		}
		if r := <-ch; !errors.Is(r.err, st.want) || st.want == nil && r.err != nil {
			t.Fatalf("op %d: result %v, want %v", seq, r.err, st.want)
		}
		if got, _ := s.StreamSeq(); got != seq {
			t.Fatalf("op %d: stream seq %d", seq, got)
		}
	}
	cID, _ := s.CustomerID("c")
	if n := len(s.HistoryView(cID)); n != 3 {
		t.Fatalf("c holds %d events, want 3", n)
	}
	if got := mergedRecord(t, s, cID); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("ids merged into c: %v", got)
	}
	// a comes back with a new event; the erasure of c erases it too.
	if err := s.ApplyLog(ctx, []LogEntry{{Seq: 6, Data: EncodeLogEvents([]Event{ev("a", "p5")})}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, nil)
	defer s.Close()
	s.SetOpLog(nil)
	if err := s.ApplyOp(ctx, 7, op(OpCustomerErase, "c")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if _, ok := s.CustomerID(id); ok {
			t.Fatalf("%s still resolves after c's erasure", id)
		}
	}
	if got := mergedRecord(t, s, cID); got != nil {
		t.Fatalf("the record of ids merged into c survived its erasure: %v", got)
	}
	if n := s.Stats().Events; n != 1 {
		t.Fatalf("%d events left, want z's", n)
	}
	if got, _ := s.StreamSeq(); got != 7 {
		t.Fatalf("stream seq %d after the erasure", got)
	}
}

func mergedRecord(t *testing.T, s *Store, id uint32) []string {
	t.Helper()
	var ids []string
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		ids, err = readMergedFrom(txn, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
