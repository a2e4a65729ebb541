package features

import (
	"fmt"
	"sync"
)

// Append-log entries about a customer (offer exposures and responses,
// experiment exposures) in cluster mode travel on that customer's subject,
// so the erasure's subject-filtered purge removes them from the stream
// with the customer's events: a batch of many customers' entries is one
// message per customer instead of one message.

// maxAppendGroups bounds the customers' messages in flight at once: each
// waits for a publish ack and its own apply, so one at a time would make a
// flush of n customers cost n round trips.
const maxAppendGroups = 16

// AppendFor appends entries to the named log as Append does and returns
// each entry's sequence. customers[i] names the customer entry i is about
// ("" for none). In single-node mode (and for a LocalLog kind) it is
// Append: the sequences are consecutive. In cluster mode each customer's
// entries are one message on that customer's subject (split as Append
// splits past MaxAppendBytes), the entries about no one one message on
// the definitions' subject; a customer's entries keep their order, and
// their sequences are assigned when applied, in stream order, the same
// on every node, but those of different customers may interleave with
// each other and with other nodes' entries. On an error some customers'
// entries may be in the log already (as with Append's split batches); a
// retry with the same entries first (and any new ones after) stores them
// once (applog_retry.go), and their sequences are then 0 (not known
// here: the first attempt's apply assigned them).
func (r *Records) AppendFor(kind string, customers []string, entries [][]byte) ([]uint64, error) {
	if len(customers) != len(entries) {
		return nil, fmt.Errorf("AppendFor %s: %d customers for %d entries", kind, len(customers), len(entries))
	}
	seqs := make([]uint64, len(entries))
	s := r.s
	if s.ops == nil || s.ops.watch.isLocal(kind) {
		first, err := r.Append(kind, entries)
		if err != nil {
			return nil, err
		}
		for i := range seqs {
			seqs[i] = first + uint64(i)
		}
		return seqs, nil
	}
	groups, order := groupEntries(customers)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, maxAppendGroups)
	)
	for _, c := range order {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := r.appendGroup(kind, c, groups[c], entries, seqs); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return seqs, nil
}

// groupEntries returns the indexes of each customer's entries, in
// order, and the customers in order of first appearance (so the same
// batch publishes the same way).
func groupEntries(customers []string) (map[string][]int, []string) {
	groups := map[string][]int{}
	var order []string
	for i, c := range customers {
		if _, ok := groups[c]; !ok {
			order = append(order, c)
		}
		groups[c] = append(groups[c], i)
	}
	return groups, order
}

// appendGroup publishes the entries idx of one customer, in as few
// messages as MaxAppendBytes allows (split where a failed attempt split,
// applog_retry.go) and one after the other (their order is kept), and
// records each one's sequence in seqs.
func (r *Records) appendGroup(kind, customer string, idx []int, entries [][]byte, seqs []uint64) error {
	sizes := make([]int, len(idx))
	for k, i := range idx {
		sizes[k] = len(entries[i])
	}
	retries := &r.s.ops.retries
	ends := appendChunks(sizes, retries.take(kind, customer))
	start := 0
	for c, end := range ends {
		fields := make([][]byte, 0, 1+end-start)
		fields = append(fields, []byte(kind))
		for _, i := range idx[start:end] {
			fields = append(fields, entries[i])
		}
		res, err := r.s.submitAppend(customer, fields)
		if err != nil {
			retries.keep(kind, customer, ends[:c+1])
			return err
		}
		if res.first != 0 { // else a retry's copy, stored before
			for k, i := range idx[start:end] {
				seqs[i] = res.first + uint64(k)
			}
		}
		start = end
	}
	return nil
}
