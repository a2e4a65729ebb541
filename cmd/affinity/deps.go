package main

import (
	"log/slog"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// buildDeps wires the services the API calls. Feature services (segments,
// offers, experiments) are added here.
func buildDeps(store *features.Store, eng *recommend.Engine, log *slog.Logger) (api.Deps, error) {
	return api.Deps{Store: store, Engine: eng}, nil
}

// closeDeps flushes services that buffer (exposure and response logs).
func closeDeps(d api.Deps) error { return nil }
