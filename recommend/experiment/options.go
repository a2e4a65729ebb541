package experiment

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/affinity-rec/affinity/recommend"
)

// Options configure the experiments service.
type Options struct {
	// FlushInterval is how long an exposure or outcome may wait in memory
	// before it is appended to its log (what a crash can lose).
	FlushInterval time.Duration
	// BatchSize exposures waiting wake the flusher before the interval.
	BatchSize int
	// QueueSize bounds the exposures waiting for the flusher.
	QueueSize int
	// EnqueueTimeout is how long Expose blocks on a full queue before it
	// drops the exposure (and counts it in Stats.Dropped): a stalled store
	// must slow requests down, not stop them.
	EnqueueTimeout time.Duration
	// Logger receives write failures.
	Logger *slog.Logger
}

// DefaultOptions returns production defaults.
func DefaultOptions() Options {
	return Options{FlushInterval: 100 * time.Millisecond, BatchSize: 1024, QueueSize: 1 << 16,
		EnqueueTimeout: time.Second}
}

// Validate reports whether o is usable.
func (o Options) Validate() error {
	if o.FlushInterval <= 0 || o.FlushInterval > time.Minute {
		return fmt.Errorf("%w: experiments flush interval must be in (0, 1m]", recommend.ErrBadRequest)
	}
	if o.BatchSize < 1 || o.QueueSize < o.BatchSize {
		return fmt.Errorf("%w: experiments queue must hold at least one batch (batch >= 1)", recommend.ErrBadRequest)
	}
	if o.EnqueueTimeout < 0 {
		return fmt.Errorf("%w: negative enqueue timeout", recommend.ErrBadRequest)
	}
	return nil
}

// Stats counts the service's work since start, for metrics.
type Stats struct {
	Exposures   int64 // exposures appended to the log
	Outcomes    int64 // attributed outcomes appended to the log
	Dropped     int64 // exposures dropped: queue full past EnqueueTimeout, or closed
	WriteErrors int64 // failed log appends (retried on the next flush)
}
