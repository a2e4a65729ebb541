package features

import (
	"context"
	"errors"
	"io"
)

// batchReader reads events in batches in its own goroutine. After batches
// is closed, read, skipped, rejected and err are final.
type batchReader struct {
	batches  chan readBatch
	free     chan []Event
	done     chan struct{}
	read     int
	skipped  map[string]int
	rejected map[string]int
	err      error
}

type readBatch struct {
	events []Event
	read   int // lines read so far, for the progress line
}

func readBatches(ctx context.Context, r ImportReader, size int) *batchReader {
	rd := &batchReader{
		batches:  make(chan readBatch, 1),
		free:     make(chan []Event, 3),
		done:     make(chan struct{}),
		skipped:  map[string]int{},
		rejected: map[string]int{},
	}
	for range 2 {
		rd.free <- make([]Event, 0, size)
	}
	go rd.run(ctx, r, size)
	return rd
}

func (rd *batchReader) run(ctx context.Context, r ImportReader, size int) {
	defer close(rd.batches)
	batch := <-rd.free
	send := func() bool {
		select {
		case rd.batches <- readBatch{events: batch, read: rd.read}:
		case <-rd.done:
			return false
		}
		select {
		case batch = <-rd.free:
		case <-rd.done:
			return false
		}
		return true
	}
	for {
		if err := ctx.Err(); err != nil {
			rd.err = err
			return
		}
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var li LineIssue
		if errors.As(err, &li) {
			rd.read++
			if reason, skipped := li.LineIssue(); skipped {
				rd.skipped[reason]++
			} else {
				rd.rejected[reason]++
			}
			continue
		}
		if err != nil {
			rd.err = err
			return
		}
		rd.read++
		batch = append(batch, e)
		if len(batch) == size && !send() {
			return
		}
	}
	if len(batch) > 0 {
		send()
	}
}

// stop makes the reading goroutine end and waits for it.
func (rd *batchReader) stop() {
	close(rd.done)
	for range rd.batches {
	}
}
