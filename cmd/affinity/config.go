package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/features"
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
	APIKeysFile  string                        `json:"api_keys_file"`
	RateLimit    float64                       `json:"rate_limit"`
	BodyLimitMB  int                           `json:"body_limit_mb"`
	StreamMB     int                           `json:"ndjson_limit_mb"`
	SyncWrites   *bool                         `json:"sync_writes"`
	Clock        string                        `json:"clock"`
	LogLevel     string                        `json:"log_level"`
	// PersonalCache bounds the personal-list cache; 0 turns it off (the
	// load run measures uncached scoring that way).
	PersonalCache *int `json:"personal_cache_entries"`
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
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return fc, fmt.Errorf("cannot parse config %s: %w", path, err)
	}
	return fc, nil
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
	if fc.Similarity != "" {
		o.Neighbours.Similarity = features.Similarity(fc.Similarity)
	}
	if fc.Neighbours > 0 {
		o.Neighbours.K = fc.Neighbours
	}
	if fc.FallbackK > 0 {
		o.Neighbours.FallbackK = fc.FallbackK
	}
	if fc.SyncWrites != nil {
		o.SyncWrites = *fc.SyncWrites
	}
	return o, nil
}

func (fc fileConfig) engineOptions() recommend.Options {
	o := recommend.DefaultOptions()
	if fc.HalfLifeDays > 0 {
		o.HalfLife = time.Duration(fc.HalfLifeDays * 24 * float64(time.Hour))
	}
	if fc.PersonalCache != nil && *fc.PersonalCache >= 0 {
		o.CacheEntries = *fc.PersonalCache
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
