package offer

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
)

// Defining offers: Put, Get, List, Delete, and loading them on start.

// Put creates or replaces offer id. Replacing keeps what the offer learned,
// its exposures and its budget use; a deleted and re-created offer starts
// afresh. Errors: *features.FieldError for bad input (unknown product, a
// rule that does not compile or is over the cost bounds of
// crm.Service.CheckRuleCost), ErrTooManyOffers.
func (s *Service) Put(id string, o Offer) (View, error) {
	if err := features.ValidateName("offer_id", id); err != nil {
		return View{}, err
	}
	if err := Validate(&o); err != nil {
		return View{}, err
	}
	if err := s.checkOpen(); err != nil {
		return View{}, err
	}
	s.defMu.Lock()
	defer s.defMu.Unlock()
	set := s.set.Load()
	now := s.src.Now().UTC()
	rec := offerRecord{Offer: o, Created: now, Updated: now}
	if rec.Name == "" {
		rec.Name = id
	}
	var st *offerState
	if old := set.byID[id]; old != nil {
		rec.Incarnation, rec.Created, st = old.rec.Incarnation, old.rec.Created, old.st
	} else {
		if len(set.offers) >= s.opts.MaxOffers {
			return View{}, fmt.Errorf("%w: at most %d offers", ErrTooManyOffers, s.opts.MaxOffers)
		}
		rec.Incarnation = newOfferIncarnation()
		st = newOfferState(rec.Incarnation)
	}
	lo, err := s.compileOffer(id, rec, st, false)
	if err != nil {
		return View{}, err
	}
	if lo.rule != nil {
		// Eligibility runs on every next-best-offer request: the same
		// cost bound as segment rules (stored offers are not re-measured
		// on load).
		if err := s.prof.CheckRuleCost("eligibility", lo.rule); err != nil {
			return View{}, err
		}
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return View{}, fmt.Errorf("cannot encode offer %q: %w", id, err)
	}
	if err := s.recs.Put(offerKind, id, body); err != nil {
		return View{}, fmt.Errorf("cannot store offer %q: %w", id, err)
	}
	offers := make([]*liveOffer, 0, len(set.offers)+1)
	for _, x := range set.offers {
		if x.id != id {
			offers = append(offers, x)
		}
	}
	s.publish(append(offers, lo))
	return s.view(lo, s.src.Now()), nil
}

// Get returns offer id with its performance, or ErrUnknownOffer.
func (s *Service) Get(id string) (View, error) {
	o := s.set.Load().byID[id]
	if o == nil {
		return View{}, fmt.Errorf("%w %q", ErrUnknownOffer, id)
	}
	return s.view(o, s.src.Now()), nil
}

// List returns every offer, by id.
func (s *Service) List() []View {
	set := s.set.Load()
	now := s.src.Now()
	out := make([]View, len(set.offers))
	for i, o := range set.offers {
		out[i] = s.view(o, now)
	}
	return out
}

// Delete removes offer id's definition. Its log entries stay (they are the
// history of what customers were shown) but no longer count for anything.
func (s *Service) Delete(id string) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	s.defMu.Lock()
	defer s.defMu.Unlock()
	set := s.set.Load()
	if set.byID[id] == nil {
		return fmt.Errorf("%w %q", ErrUnknownOffer, id)
	}
	if err := s.recs.Delete(offerKind, id); err != nil && !errors.Is(err, features.ErrNotFound) {
		return fmt.Errorf("cannot delete offer %q: %w", id, err)
	}
	offers := make([]*liveOffer, 0, len(set.offers))
	for _, x := range set.offers {
		if x.id != id {
			offers = append(offers, x)
		}
	}
	s.publish(offers)
	return nil
}

func (s *Service) view(o *liveOffer, now time.Time) View {
	v := View{OfferID: o.id, Offer: o.rec.Offer, Active: o.activeAt(now.UnixNano())}
	if v.Products == nil {
		v.Products = []string{}
	}
	if v.Channels == nil {
		v.Channels = []string{}
	}
	st := o.st
	st.mu.Lock()
	p := Performance{Shown: st.shown, Accepted: st.accepted.Load(), Declined: st.declined, Ignored: st.ignored, Open: uint64(len(st.open))}
	st.mu.Unlock()
	answered := p.Accepted + p.Declined + p.Ignored
	p.AcceptanceRate = abtest.Wilson(abtest.Proportion{Successes: int64(p.Accepted), Trials: int64(answered)})
	if o.rec.Budget > 0 {
		left := max(o.rec.Budget-int64(p.Accepted), 0)
		p.BudgetLeft = &left
	}
	v.Performance = p
	return v
}

// loadOffers reads the stored definitions. A definition that no longer
// compiles (a product or rule feature gone) is kept out of serving and
// logged, not fatal: one bad offer must not stop the server.
func (s *Service) loadOffers() ([]*liveOffer, error) {
	var offers []*liveOffer
	err := s.recs.List(offerKind, func(id string, v []byte) error {
		var rec offerRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			s.log.Error("offer record unreadable; skipped", "offer", id, "err", err)
			return nil
		}
		if rec.Incarnation == "" {
			rec.Incarnation = newOfferIncarnation()
		}
		lo, err := s.compileOffer(id, rec, newOfferState(rec.Incarnation), true)
		if err != nil {
			s.log.Error("stored offer no longer valid; not served", "offer", id, "err", err)
			return nil
		}
		offers = append(offers, lo)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot load offers: %w", err)
	}
	return offers, nil
}
