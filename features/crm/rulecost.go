package crm

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/affinity-rec/affinity/features"
)

// RuleCostLimit is the mean time a rule may take to evaluate for one
// customer, measured on a sample of the store's profiles when the rule is
// defined. Segment membership is re-evaluated for every customer every
// minute, so at 50 µs a segment costs about 4 s a pass per 73,000
// customers; a typical rule (`monetary > 1000 && frequency >= 5`) takes
// well under 1 µs.
const RuleCostLimit = 50 * time.Microsecond

// ruleCostSample is how many evaluations a measurement makes: profiles
// spread over the store's customers (repeated when there are fewer), and
// the profile of a customer with no history.
const ruleCostSample = 200

// CheckRuleCost runs r on a sample of customer profiles and refuses it, as
// a *FieldError on field, when one evaluation goes over RuleMemoryBudget
// or the mean evaluation takes longer than RuleCostLimit. Wall time is
// what is measured, so an evaluation over the limit is timed up to three
// times and the fastest kept (being scheduled out only adds time). It
// stops as soon as the sample's total passes the limit, so refusing a
// rule costs about 10 ms plus three evaluations (the compile-time bounds
// of CompileRule keep those finite). Segments and
// offers' eligibility call it before accepting a rule; rules already
// stored are not re-measured when the store opens.
func (s *Service) CheckRuleCost(field string, r *Rule) error {
	envs := s.costSample()
	budget := RuleCostLimit * ruleCostSample
	var v vm.VM
	var total time.Duration
	for i := 0; i < ruleCostSample; i++ {
		env := envs[i%len(envs)]
		// An evaluation over the limit is repeated, keeping the fastest:
		// on a busy machine one may include being scheduled out.
		best := time.Duration(math.MaxInt64)
		for rep := 0; rep < 3 && best > RuleCostLimit; rep++ {
			start := time.Now()
			_, err := r.matchVM(&v, env)
			best = min(best, time.Since(start))
			if err != nil && strings.Contains(err.Error(), "memory budget exceeded") {
				return &features.FieldError{Field: field, Msg: fmt.Sprintf("needs more than the memory budget of %d elements (arrays, ranges and maps built in one evaluation)", RuleMemoryBudget)}
			}
		}
		total += best
		if total > budget {
			return costError(field, total/time.Duration(i+1))
		}
	}
	if per := total / ruleCostSample; per > RuleCostLimit {
		return costError(field, per)
	}
	return nil
}

func costError(field string, per time.Duration) error {
	return &features.FieldError{Field: field, Msg: fmt.Sprintf("takes %s per customer, limit %s: use fewer or shorter loops and ranges",
		fmtMicros(per), fmtMicros(RuleCostLimit))}
}

// fmtMicros writes d as "2.1 ms" or "50 µs".
func fmtMicros(d time.Duration) string {
	if d >= time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f µs", math.Max(1, float64(d)/float64(time.Microsecond)))
}

// costSample returns up to ruleCostSample profiles spread evenly over the
// customer ids, with the profile of a customer without history first (an
// empty store still has that one).
func (s *Service) costSample() []map[string]any {
	envs := []map[string]any{s.RuleEnv(math.MaxUint32)}
	n := s.st.NumCustomers()
	step := max(1, n/ruleCostSample)
	for c := 0; c < n && len(envs) < ruleCostSample; c += step {
		if s.knownCustomer(uint32(c)) {
			envs = append(envs, s.RuleEnv(uint32(c)))
		}
	}
	return envs
}
