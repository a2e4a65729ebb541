package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/jsonbody"
	"github.com/affinity-rec/affinity/recommend"
)

// fileConfig is the --config file (JSON). Every field is optional.
type fileConfig struct {
	Addr         string                        `json:"addr"`
	Data         string                        `json:"data"`
	EventTypes   map[string]features.EventType `json:"event_types"`
	Similarity   string                        `json:"similarity"`
	Neighbours   int                           `json:"neighbours"`
	FallbackK    int                           `json:"fallback_neighbours"`
	HalfLifeDays float64                       `json:"half_life_days"`
	// Tune turns the self-tuner off (false) or on (true, the default);
	// TuneHoldout is how its validation slice is cut (temporal, random).
	// A similarity, neighbours or half-life set here is kept as set.
	Tune        *bool   `json:"tune"`
	TuneHoldout string  `json:"tune_holdout"`
	APIKeysFile string  `json:"api_keys_file"`
	RateLimit   float64 `json:"rate_limit"`
	BodyLimitMB int     `json:"body_limit_mb"`
	StreamMB    int     `json:"ndjson_limit_mb"`
	SyncWrites  *bool   `json:"sync_writes"`
	Clock       string  `json:"clock"`
	// MaxFutureSkew is a Go duration ("24h", "90m"): how far past the
	// server's wall clock an event's timestamp may lie.
	MaxFutureSkew string `json:"max_future_skew"`
	LogLevel      string `json:"log_level"`
	// PersonalCache bounds the personal-list cache; 0 turns it off (the
	// load run measures uncached scoring that way).
	PersonalCache *int `json:"personal_cache_entries"`
	// ScatterBudget bounds the neighbour pairs of one personal list
	// (recommend.Options.ScatterBudget); 0: every pair.
	ScatterBudget *int `json:"personal_scatter_budget"`
	// Cluster is cluster mode's settings (--nats sets or overrides nats).
	Cluster clusterConfig `json:"cluster"`
}

// clusterConfig is the "cluster" object of the config file: the NATS
// servers and the stream every node follows. Absent (and no --nats): a
// single node, exactly as before.
type clusterConfig struct {
	NATS          string `json:"nats"`           // URL[,URL...]
	Name          string `json:"name"`           // this node's name in NATS (default: affinity-<addr>)
	Stream        string `json:"stream"`         // stream name (AFFINITY)
	Replicas      int    `json:"replicas"`       // 0: 3, or the JetStream cluster's size when smaller
	SubjectPrefix string `json:"subject_prefix"` // subject prefix (affinity)
	MaxLag        uint64 `json:"max_lag"`        // /readyz 503 past this many unapplied messages (10000)
	MinSeqWait    string `json:"min_seq_wait"`   // bound of an X-Affinity-Min-Seq wait ("1s")
	MaxSilence    string `json:"max_silence"`    // /readyz 503 when the stream has not answered for this long ("5s")
	TickInterval  string `json:"tick_interval"`  // how often a stream tick rebuilds every node's model ("1s"; docs/cluster.md)
	// SnapshotEvery spaces the bootstrap snapshots: a number of messages
	// (100000, or "100000"), a duration ("30m"), or "off" (this node never
	// writes one; it still bootstraps from others').
	SnapshotEvery json.RawMessage `json:"snapshot_every"`
	Advertise     string          `json:"advertise"` // HTTP address shown in the nodes registry (default: --addr)
}

// nodeConfig turns the config into the cluster node's (addr names the node).
func (cc clusterConfig) nodeConfig(addr string, log *slog.Logger) (node.Config, error) {
	c := node.Config{URLs: cc.NATS, Name: cc.Name, MaxLag: cc.MaxLag, Log: log,
		Stream: cluster.StreamConfig{Name: cc.Stream, Prefix: cc.SubjectPrefix, Replicas: cc.Replicas}}
	if c.Name == "" {
		c.Name = "affinity-" + addr
	}
	if cc.MinSeqWait != "" {
		d, err := time.ParseDuration(cc.MinSeqWait)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("config cluster.min_seq_wait %q must be a positive duration such as \"1s\"", cc.MinSeqWait)
		}
		c.MinSeq = d
	}
	if cc.MaxSilence != "" {
		d, err := time.ParseDuration(cc.MaxSilence)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("config cluster.max_silence %q must be a positive duration such as \"5s\"", cc.MaxSilence)
		}
		c.MaxSilence = d
	}
	if cc.TickInterval != "" {
		d, err := time.ParseDuration(cc.TickInterval)
		if err != nil || d < 10*time.Millisecond {
			return c, fmt.Errorf("config cluster.tick_interval %q must be a duration of at least 10ms such as \"2s\"", cc.TickInterval)
		}
		c.Tick = d
	}
	c.Ops.Addr = cmp.Or(cc.Advertise, addr)
	return c, cc.snapshotEvery(&c.Ops)
}

// snapshotEvery reads cluster.snapshot_every into o.
func (cc clusterConfig) snapshotEvery(o *node.OpsConfig) error {
	raw := strings.Trim(strings.TrimSpace(string(cc.SnapshotEvery)), `"`)
	if raw == "" || raw == "null" {
		return nil
	}
	if raw == "off" {
		o.NoSnapshots = true
		return nil
	}
	if n, err := strconv.ParseUint(raw, 10, 64); err == nil && n > 0 {
		o.SnapshotEvery = n
		return nil
	}
	if d, err := time.ParseDuration(raw); err == nil && d > 0 {
		o.SnapshotInterval = d
		return nil
	}
	return fmt.Errorf("config cluster.snapshot_every %s must be a number of messages (100000), a duration (\"30m\") or \"off\"", cc.SnapshotEvery)
}

func readConfig(path string) (fileConfig, error) {
	var fc fileConfig
	if path == "" {
		return fc, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fc, fmt.Errorf("cannot read config: %w", err)
	}
	// The API's decoder for definitions: trailing data, a key given twice
	// and an unknown key at any depth are refused, each named by its path
	// (event_types.wishlist.clas), in JSON's terms rather than Go's.
	if err := jsonbody.Decode(b, &fc); err != nil {
		return fc, fmt.Errorf("cannot read config %s: %w", path, err)
	}
	return fc, fc.checkRanges()
}

// checkRanges refuses numbers no setting can mean; 0 keeps meaning "the
// default" where the field documents it, a negative number used to be
// taken silently as 0.
func (fc fileConfig) checkRanges() error {
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"neighbours", float64(fc.Neighbours)},
		{"fallback_neighbours", float64(fc.FallbackK)},
		{"half_life_days", fc.HalfLifeDays},
		{"rate_limit", fc.RateLimit},
		{"body_limit_mb", float64(fc.BodyLimitMB)},
		{"ndjson_limit_mb", float64(fc.StreamMB)},
		{"cluster.replicas", float64(fc.Cluster.Replicas)},
	} {
		if f.v < 0 {
			return fmt.Errorf("config %s must not be negative (0 or absent: the default), not %v", f.name, f.v)
		}
	}
	for name, p := range map[string]*int{"personal_cache_entries": fc.PersonalCache, "personal_scatter_budget": fc.ScatterBudget} {
		if p != nil && *p < 0 {
			return fmt.Errorf("config %s must not be negative, not %d", name, *p)
		}
	}
	return nil
}

// storeOptions builds the store options from the config.
func (fc fileConfig) storeOptions(dir string, log *slog.Logger) (features.Options, error) {
	o := features.DefaultOptions(dir)
	o.Logger = log
	if len(fc.EventTypes) > 0 {
		types := features.DefaultEventTypes()
		for k, v := range fc.EventTypes {
			types[k] = v
		}
		o.EventTypes = types
	}
	fc.applyNeighbours(&o.Neighbours)
	if fc.HalfLifeDays > 0 {
		o.TuneDefaults.HalfLifeDays = fc.HalfLifeDays
	}
	if fc.SyncWrites != nil {
		o.SyncWrites = *fc.SyncWrites
	}
	if fc.MaxFutureSkew != "" {
		d, err := time.ParseDuration(fc.MaxFutureSkew)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("config max_future_skew %q must be a positive duration such as \"24h\"", fc.MaxFutureSkew)
		}
		o.MaxFutureSkew = d
	}
	return o, nil
}

// applyNeighbours sets the model options the config gives. A similarity
// or a neighbour count set here is kept as set: the tuner is off unless
// "tune" says otherwise.
func (fc fileConfig) applyNeighbours(o *features.NeighbourOptions) {
	if fc.Similarity != "" {
		o.Similarity = features.Similarity(fc.Similarity)
		o.Tune = false
	}
	if fc.Neighbours > 0 {
		o.K = fc.Neighbours
		o.Tune = false
	}
	if fc.FallbackK > 0 {
		o.FallbackK = fc.FallbackK
	}
	if fc.Tune != nil {
		o.Tune = *fc.Tune
	}
	if fc.TuneHoldout != "" {
		o.TuneHoldout = fc.TuneHoldout
	}
}

func (fc fileConfig) engineOptions() recommend.Options {
	return fc.applyEngine(recommend.DefaultOptions())
}

// applyEngine sets the engine options the config gives on o.
func (fc fileConfig) applyEngine(o recommend.Options) recommend.Options {
	if fc.HalfLifeDays > 0 {
		o.HalfLife = time.Duration(fc.HalfLifeDays * 24 * float64(time.Hour))
		o.UseTuning = false
	}
	if fc.Tune != nil && !*fc.Tune {
		o.UseTuning = false
	}
	if fc.PersonalCache != nil && *fc.PersonalCache >= 0 {
		o.CacheEntries = *fc.PersonalCache
	}
	if fc.ScatterBudget != nil && *fc.ScatterBudget >= 0 {
		o.ScatterBudget = *fc.ScatterBudget
	}
	return o
}

// apiKeys reads keys from AFFINITY_API_KEYS, else the config's keys file.
func (fc fileConfig) apiKeys() ([]api.Key, error) {
	if v := os.Getenv("AFFINITY_API_KEYS"); v != "" {
		return api.ParseKeys(v)
	}
	if fc.APIKeysFile != "" {
		b, err := os.ReadFile(fc.APIKeysFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read API keys file: %w", err)
		}
		return api.ParseKeys(string(b))
	}
	return nil, nil
}
