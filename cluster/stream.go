package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of StreamConfig.
const (
	DefaultStream     = "AFFINITY"
	DefaultPrefix     = "affinity"
	DefaultReplicas   = 3
	DefaultDuplicates = 2 * time.Minute
)

// StreamConfig is what an operator sets for the stream.
type StreamConfig struct {
	// Name of the stream (letters, digits, '-' and '_'); DefaultStream when empty.
	Name string
	// Prefix of every subject (dot-separated tokens); DefaultPrefix when empty.
	Prefix string
	// Replicas wanted; 0 means DefaultReplicas, lowered to what the JetStream
	// cluster can place (1 on a single server) when the stream is created.
	// An explicit value is never lowered: Setup fails instead.
	Replicas int
	// Duplicates is the Nats-Msg-Id dedup window: a message whose id was seen
	// within it is acknowledged again but stored once. DefaultDuplicates when 0.
	// A client retrying a write must do so within this window.
	Duplicates time.Duration
}

func (c StreamConfig) withDefaults() StreamConfig {
	if c.Name == "" {
		c.Name = DefaultStream
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Duplicates == 0 {
		c.Duplicates = DefaultDuplicates
	}
	return c
}

func (c StreamConfig) validate() error {
	if !validToken(c.Name) {
		return fmt.Errorf("cluster: stream name %q: use letters, digits, '-' and '_'", c.Name)
	}
	for _, t := range strings.Split(c.Prefix, ".") {
		if !validToken(t) {
			return fmt.Errorf("cluster: subject prefix %q: dot-separated tokens of letters, digits, '-' and '_'", c.Prefix)
		}
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		return fmt.Errorf("cluster: replicas %d: JetStream allows 1 to 5", c.Replicas)
	}
	if c.Duplicates < 0 {
		return fmt.Errorf("cluster: duplicates window %s is negative", c.Duplicates)
	}
	return nil
}

// Stream is the set-up stream with its settings as JetStream reports them.
type Stream struct {
	JS       jetstream.JetStream
	Stream   jetstream.Stream
	Name     string
	Subjects Subjects
	Replicas int
}

// Setup creates the stream, or checks and updates an existing one. An
// existing stream keeps its replica count unless Replicas is set explicitly,
// so a node that starts while one NATS server is down never shrinks it.
func Setup(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) (*Stream, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	subs := Subjects{Prefix: cfg.Prefix}
	want := jetstream.StreamConfig{
		Name:        cfg.Name,
		Subjects:    []string{subs.All()},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      0, // the log is the source of truth: never age out
		Duplicates:  cfg.Duplicates,
		Replicas:    cfg.Replicas,
		AllowDirect: true,
		Discard:     jetstream.DiscardOld,
	}
	st, err := js.Stream(ctx, cfg.Name)
	switch {
	case err == nil:
		st, err = update(ctx, js, st, want, cfg)
	case errors.Is(err, jetstream.ErrStreamNotFound):
		st, err = create(ctx, js, want, cfg.Replicas == 0)
	}
	if err == nil {
		err = awaitLeader(ctx, st)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: stream %s: %w", cfg.Name, err)
	}
	return &Stream{JS: js, Stream: st, Name: cfg.Name, Subjects: subs, Replicas: st.CachedInfo().Config.Replicas}, nil
}

// awaitLeader waits until the stream has a leader. A replicated stream
// answers its creation before its replicas have elected one, and an async
// publish that meets no responder is sent again later by the client, after
// the messages behind it: the first batch into a new stream (make cluster's
// demo, a test) could be stored out of order (TestFollowerResumesFromSequence
// found a batch's fifth message at sequence 13 under -race).
func awaitLeader(ctx context.Context, st jetstream.Stream) error {
	for {
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		if info.Cluster == nil || info.Cluster.Leader != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no leader elected: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func update(ctx context.Context, js jetstream.JetStream, st jetstream.Stream, want jetstream.StreamConfig, cfg StreamConfig) (jetstream.Stream, error) {
	have := st.CachedInfo().Config
	if len(have.Subjects) != 1 || have.Subjects[0] != want.Subjects[0] {
		return nil, fmt.Errorf("exists with subjects %v, want [%s]: another prefix or another application", have.Subjects, want.Subjects[0])
	}
	if cfg.Replicas == 0 {
		want.Replicas = have.Replicas
	}
	if have.Replicas == want.Replicas && have.Duplicates == want.Duplicates && have.MaxAge == 0 && have.AllowDirect {
		return st, nil
	}
	return js.UpdateStream(ctx, want)
}

// create tries the wanted replicas and, when they were defaulted, steps down
// one at a time while JetStream says it cannot place that many: this is how
// the stream discovers the JetStream cluster's size without system-account
// rights (a client cannot list the servers otherwise).
func create(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, mayLower bool) (jetstream.Stream, error) {
	if want.Replicas == 0 {
		want.Replicas = DefaultReplicas
	}
	for {
		st, err := createPatiently(ctx, js, want)
		if err == nil || !mayLower || want.Replicas == 1 || !cannotPlace(err) {
			return st, err
		}
		want.Replicas--
	}
}

// placeRetry is how long a replica count JetStream cannot place is retried
// before create steps down: a cluster that is still forming (a server not
// yet reporting to the meta leader) refuses 3 replicas for a moment, and
// stepping down then would leave a stream that survives no server loss.
const placeRetry = 3 * time.Second

func createPatiently(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) (jetstream.Stream, error) {
	deadline := time.Now().Add(placeRetry)
	for {
		st, err := js.CreateStream(ctx, want)
		if err == nil || !cannotPlace(err) || nonClustered(err) || time.Now().After(deadline) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// nonClustered is JetStream saying it runs on one server: no retry helps.
func nonClustered(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == 10074
}

// cannotPlace is JetStream refusing a replica count it has no servers for.
func cannotPlace(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case 10005, // no suitable peers for placement
		10074, // replicas > 1 not supported in non-clustered mode
		10023: // insufficient resources
		return true
	}
	return false
}

// LastSeq is the stream's last sequence and the time it was written, asked of
// JetStream now.
func (s *Stream) LastSeq(ctx context.Context) (uint64, time.Time, error) {
	info, err := s.Stream.Info(ctx)
	if err != nil {
		return 0, time.Time{}, err
	}
	return info.State.LastSeq, info.State.LastTime, nil
}
