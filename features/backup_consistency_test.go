package features

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// TestBackupUnderWritesIsOnePointInTime backs up a store while goroutines
// ingest events of new customers, restores each copy, and checks it: every
// event's ids resolve, each history matches the log, and customers created
// after the restore start empty. Badger's DB.Backup read each key range at
// its own timestamp: copies held events whose customers were missing from
// the dictionary, and the next new customers inherited them.
func TestBackupUnderWritesIsOnePointInTime(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a hundred thousand events; runs in the plain pass of make test")
	}
	// Counted lists: the model is not the point, and restored copies open
	// faster without EASE's solve.
	cheap := func(o *Options) { o.Neighbours.Similarity = SimCooccurrence }
	s := openTestStore(t, "", cheap)
	ctx := context.Background()
	if _, err := s.Ingest(ctx, syntheticEvents(20000, 2000, 500, 1, true), IngestOptions{NoSync: true, Bulk: true}); err != nil {
		t.Fatal(err)
	}
	stopWriters := startBackupWriters(ctx, s)
	defer func() {
		if err := stopWriters(); err != nil {
			t.Fatal(err)
		}
	}()
	// Many backups, each loaded into an in-memory Badger and checked: the
	// old backups were inconsistent in one of a few, when a commit fell
	// between the start of two of their read transactions.
	for i := 0; i < 40; i++ {
		time.Sleep(20 * time.Millisecond)
		var buf bytes.Buffer
		if _, err := s.Backup(&buf); err != nil {
			t.Fatal(err)
		}
		if rep := checkBackup(t, &buf); rep.Err() != nil {
			t.Fatalf("backup %d: %v", i, rep.Err())
		}
	}
	// The whole path for a few: restore, open, check, then new customers.
	for round := 0; round < 3; round++ {
		checkRestoreRound(ctx, t, s, round, cheap)
	}
}

// startBackupWriters starts four goroutines that ingest batches of events
// of new customers into s until the returned stop is called; stop waits for
// them and returns the first write error.
func startBackupWriters(ctx context.Context, s *Store) (stop func() error) {
	stopc := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	var errOnce sync.Once
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for i := 0; ; i++ {
				select {
				case <-stopc:
					return
				default:
				}
				batch := make([]Event, 8)
				for k := range batch {
					batch[k] = Event{CustomerID: fmt.Sprintf("w%d-%d-%d", g, i, k%2), ProductID: fmt.Sprintf("p%d", rng.Intn(500)),
						Type: "purchase", EventID: fmt.Sprintf("w%d-%d-%d", g, i, k)}
				}
				if _, err := s.Ingest(ctx, batch, IngestOptions{NoSync: true}); err != nil {
					errOnce.Do(func() { writeErr = err })
					return
				}
				// Writes go on through every backup, at a pace that keeps
				// the store (and the test) from growing without bound.
				time.Sleep(10 * time.Millisecond)
			}
		}(g)
	}
	return func() error {
		close(stopc)
		wg.Wait()
		return writeErr
	}
}

// checkRestoreRound backs s up, restores the copy into a new directory,
// opens and checks it, and checks that customers created after the restore
// start empty (none inherits a lost customer's events).
func checkRestoreRound(ctx context.Context, t *testing.T, s *Store, round int, mod func(*Options)) {
	t.Helper()
	r := openTestStore(t, restoredCopy(t, s), mod)
	rep, err := r.Check()
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatalf("round %d: restored copy: %v", round, err)
	}
	if rep.Events < 20000 {
		t.Fatalf("round %d: %d events restored", round, rep.Events)
	}
	var fresh []Event
	for k := 0; k < 50; k++ {
		fresh = append(fresh, Event{CustomerID: fmt.Sprintf("after-restore-%d", k), ProductID: "p1", Type: "view"})
	}
	if _, err := r.Ingest(ctx, fresh, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range fresh {
		c, _ := r.CustomerID(e.CustomerID)
		if h := r.HistoryView(c); len(h) != 1 {
			t.Fatalf("round %d: new customer %s (id %d) has %d events, want 1: it inherited a lost customer's", round, e.CustomerID, c, len(h))
		}
	}
	r.Close()
}

// checkBackup loads a backup into an in-memory Badger and checks it.
func checkBackup(t *testing.T, r *bytes.Buffer) CheckReport {
	t.Helper()
	o := DefaultOptions("")
	o.InMemory = true
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	db, err := openBadger(o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Load(r, 16); err != nil {
		t.Fatal(err)
	}
	var rep CheckReport
	if err := db.View(func(txn *badger.Txn) error { return checkDB(txn, nil, &rep) }); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestRestoreRefusesAnInconsistentBackup: a copy with events of a customer
// missing from the dictionary is refused and leaves nothing behind; Check
// finds the same on the store itself.
func TestRestoreRefusesAnInconsistentBackup(t *testing.T) {
	s := openTestStore(t, "", nil)
	if _, err := s.Ingest(context.Background(), syntheticEvents(500, 50, 20, 1, true), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if rep, err := s.Check(); err != nil || rep.Err() != nil || rep.Events != 500 || rep.Customers != 50 {
		t.Fatalf("consistent store: %+v %v", rep, err)
	}
	// What the old backups held: the log without one customer's entries.
	c, _ := s.CustomerID("c7")
	wb := s.db.NewWriteBatch()
	_ = wb.Delete(keyStr(prefixCustDict, "c7"))
	_ = wb.Delete(keyU32(prefixCustRev, c))
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check()
	if err != nil {
		t.Fatal(err)
	}
	if rep.OrphanEvents == 0 || rep.Err() == nil || !errors.Is(rep.Err(), errBackupInconsistent) {
		t.Fatalf("Check missed the orphaned events: %+v", rep)
	}
	var buf bytes.Buffer
	if _, err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	err = Restore(dir, &buf, s.log)
	if err == nil || !errors.Is(err, errBackupInconsistent) {
		t.Fatalf("restore of an inconsistent backup: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused restore left %d files", len(entries))
	}
}

// TestBackupAfterErasureHoldsNoByteOfTheId: Badger's DB.Backup copied
// deletion markers, and three carried the erased customer's id in their
// key (the dictionary entry and the two services' erasure journal
// entries). The journals are now keyed by the internal id, and a backup
// holds live values only.
func TestBackupAfterErasureHoldsNoByteOfTheId(t *testing.T) {
	s := openTestStore(t, "", nil)
	s.Records().AddJournal("offers")
	s.Records().AddJournal("experiments")
	secret := "erased-4f2a9c"
	evs := []Event{ev(secret, "p1", "purchase"), ev(secret, "p2", "view"), ev("other", "p1", "purchase")}
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCustomer(secret, Customer{Attributes: map[string]any{"email": secret + "@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseCustomer(secret); err != nil {
		t.Fatal(err)
	}
	for _, j := range []string{"offers", "experiments"} {
		if p, err := s.Records().Pending(j); err != nil || len(p) != 1 || p[0] != secret {
			t.Fatalf("%s journal: %v %v", j, p, err)
		}
		if err := s.Records().Done(j, secret); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.Records().Pending(j); len(p) != 0 {
			t.Fatalf("%s journal after done: %v", j, p)
		}
	}
	var buf bytes.Buffer
	if _, err := s.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(buf.Bytes(), []byte(secret)); i >= 0 {
		t.Fatalf("the backup holds the erased id at byte %d: %q", i, buf.Bytes()[max(0, i-40):i+len(secret)])
	}
	if !bytes.Contains(buf.Bytes(), []byte("other")) {
		t.Fatal("the backup lacks the other customer: the test reads the wrong bytes")
	}
	// The journals' deletion markers in the store itself do not carry it.
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, Prefix: keyRecord(kindErasure, "")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if bytes.Contains(it.Item().Key(), []byte(secret)) {
				t.Errorf("journal key %q (deleted %v) carries the erased id", it.Item().Key(), it.Item().IsDeletedOrExpired())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestErasureJournalOfAnEarlierBuild: entries keyed by the external id
// (earlier builds) are still listed and confirmed.
func TestErasureJournalOfAnEarlierBuild(t *testing.T) {
	s := openTestStore(t, "", nil)
	if err := s.Records().Put(kindErasure+"offers", "old-customer", nil); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Records().Pending("offers"); err != nil || len(p) != 1 || p[0] != "old-customer" {
		t.Fatalf("pending: %v %v", p, err)
	}
	if err := s.Records().Done("offers", "old-customer"); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Records().Pending("offers"); len(p) != 0 {
		t.Fatalf("pending after done: %v", p)
	}
}
