package crm

import (
	"context"
	"fmt"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// BenchmarkIngestWithSegmentRules is one acknowledged ingest of a single
// event (a storefront's POST /v1/events) while segments with rules near
// the cost limit exist: 20 segments of `len(filter(1..300, ...)) > 30`,
// about 25 µs per customer each. With the evaluation in the writer's
// hooks, every ack paid segments × rule cost; with the background applier
// it pays nothing for them.
func BenchmarkIngestWithSegmentRules(b *testing.B) {
	for _, tc := range []struct {
		segs int
		held bool
	}{{0, false}, {20, false}, {20, true}} {
		segs := tc.segs
		name := fmt.Sprintf("segments=%d", segs)
		if tc.held {
			// The applier held: what is left is the ack path alone, so
			// the difference to the row above is the applier's CPU use
			// competing with ingestion, not waiting.
			name += "/applier=held"
		}
		b.Run(name, func(b *testing.B) {
			s := openTestStore(b, "", nil)
			ctx := context.Background()
			if _, err := s.Ingest(ctx, syntheticEvents(5000, 1000, 200, 1, false), features.IngestOptions{NoSync: true}); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < segs; i++ {
				rule := fmt.Sprintf("len(filter(1..300, # %% %d == frequency %% %d)) > 30", i+2, i+2)
				if _, err := s.PutSegment(fmt.Sprint("s", i), rule); err != nil {
					b.Fatal(err)
				}
			}
			if tc.held {
				release := make(chan struct{})
				hold := func() { <-release }
				s.beforeApply.Store(&hold)
				defer func() { close(release); s.beforeApply.Store(nil) }()
			}
			evs := syntheticEvents(b.N, 1000, 200, 2, false)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range evs {
				if _, err := s.Ingest(ctx, evs[i:i+1], features.IngestOptions{NoSync: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
