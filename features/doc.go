// Package features is Affinity's feature store: the dictionary of external ids,
// the durable event log, the association bitmaps derived from it (product ->
// customers per event class, customer -> products, attribute value ->
// products), product neighbour lists, product and customer records, and
// generic records and append-only logs that other packages (offers,
// experiments, segment definitions) keep here so that nothing else touches
// Badger. Customer value, segments and rules are package features/crm,
// which follows the store through hooks.go (Follow).
//
// It is the only package that imports Badger. Nothing outside it sees a key or
// a transaction; the key layout lives in keys.go.
//
// The Store by concern: store.go (the type, its reads, Stats and Ready);
// open.go and badger.go (Open and Close, Badger's options, replaying the
// write-ahead logs an interrupted run left); load.go and types.go (what
// Open derives: schema, event types, id dictionaries, the log tail);
// ingest.go, writer.go and commit.go (validation, the one writer goroutine
// and its group commit); refresh.go (model rebuilds and the background
// loop); hooks.go (how other packages follow commits); products.go,
// customers.go and erase.go (records and erasure); merge.go (an anonymous
// visitor's history moved onto a customer); Records (recordset.go,
// applog.go, erasure.go: what services beside ranking keep here); and
// import.go (the bulk load of `affinity import`).
//
// Durability: an event is acknowledged only after it is committed to Badger
// (the event log). The in-memory index and the published Model are derived
// state: a snapshot of them is written to Badger with the log sequence it
// includes, and on open the tail of the log after that sequence is replayed.
// Appending to the log and applying to the state are separate steps so that a
// replica can later follow an external ordered log the same way.
package features
