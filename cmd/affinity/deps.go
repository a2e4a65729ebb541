package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/experiment"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// buildDeps wires the services the API calls. Feature services (customer
// value and segments, offers, experiments) are added here.
// limits are the offer caps and budgets shared with other nodes (cluster
// mode); nil on a single node.
func buildDeps(store *features.Store, cs *crm.Service, eng *recommend.Engine, limits offer.Limits, log *slog.Logger) (api.Deps, error) {
	d := api.Deps{Store: store, Engine: eng, CRM: cs}
	// The variant params experiments accept are those the services that
	// read them understand: ranking's, and the offers' nbo_policy.
	checks := recommend.ParamChecks(eng.Options().MaxLimit)
	checks["nbo_policy"] = offer.CheckPolicy
	params := experiment.Params{Checks: checks, Variant: []func(map[string]any) (string, string){recommend.CheckVariantParams}}
	xo := experiment.DefaultOptions()
	xo.Logger = log
	exps, err := experiment.New(store.Records(), store, params, xo)
	if err != nil {
		return d, fmt.Errorf("cannot start experiments: %w", err)
	}
	d.Experiments = exps
	oo := offer.DefaultOptions()
	oo.Logger = log
	oo.Limits = limits
	offers, err := offer.New(store.Records(), store, cs, eng, oo)
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
	if d.Experiments != nil {
		errs = append(errs, d.Experiments.Close())
	}
	return errors.Join(errs...)
}
