package api

import (
	"bytes"
	"context"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// TestBackupEndpointStreamsARestorableCopy: the backup is sent chunked (no
// Content-Length: it is not buffered whole first) and restores to a store
// with the same events that passes the consistency check.
func TestBackupEndpointStreamsARestorableCopy(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	evs, _ := demoEvents(t, 500)
	if _, err := ts.store.Ingest(context.Background(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	r := send(t, ts.srv, "GET", "/v1/admin/backup", "").want(t, 200)
	if cl := r.hdr.Get("Content-Length"); cl != "" {
		t.Fatalf("Content-Length %s: the backup was buffered before sending", cl)
	}
	dir := t.TempDir()
	if err := features.Restore(dir, bytes.NewReader(r.body), ts.srv.log); err != nil {
		t.Fatal(err)
	}
	st, err := features.Open(testStoreOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if a, b := ts.store.Stats().Events, st.Stats().Events; a != b || a == 0 {
		t.Fatalf("restored %d events of %d", b, a)
	}
	if rep, err := st.Check(); err != nil || rep.Err() != nil {
		t.Fatalf("restored copy: %+v %v", rep, err)
	}
}
