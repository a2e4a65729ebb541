package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// buildDeps wires the services the API calls. Feature services (segments,
// offers, experiments) are added here.
func buildDeps(store *features.Store, eng *recommend.Engine, log *slog.Logger) (api.Deps, error) {
	d := api.Deps{Store: store, Engine: eng}
	xo := recommend.DefaultExperimentsOptions()
	xo.Logger = log
	xo.MaxLimit = eng.Options().MaxLimit
	exps, err := recommend.NewExperiments(store, xo)
	if err != nil {
		return d, fmt.Errorf("cannot start experiments: %w", err)
	}
	d.Experiments = exps
	oo := recommend.DefaultOfferOptions()
	oo.Logger = log
	offers, err := recommend.NewOfferService(store, eng, oo)
	if err != nil {
		return d, fmt.Errorf("cannot start offers: %w", err)
	}
	d.Offers = offers
	return d, nil
}

// closeDeps flushes services that buffer (exposure and response logs).
func closeDeps(d api.Deps) error {
	var errs []error
	if d.Offers != nil {
		errs = append(errs, d.Offers.Close())
	}
	// Experiments last: the other services may still log exposures into it.
	if x, ok := d.Experiments.(interface{ Close() error }); ok {
		errs = append(errs, x.Close())
	}
	return errors.Join(errs...)
}
