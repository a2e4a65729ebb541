package load

// Scenario names accepted by Options.Scenario.
const (
	ScenarioRelated  = "related"
	ScenarioPersonal = "personal"
	ScenarioPopular  = "popular"
	ScenarioNBO      = "nbo"
	ScenarioMixed    = "mixed"
)

// Scenarios returns the scenario names in the order the command line
// documents them.
func Scenarios() []string {
	return []string{ScenarioRelated, ScenarioPersonal, ScenarioPopular, ScenarioNBO, ScenarioMixed}
}

// requestKind is the kind of one request; the mixed scenario reports each kind
// separately because they cost the server very different amounts.
type requestKind uint8

const (
	kindRelated requestKind = iota
	kindPersonal
	kindPopular
	kindNBO
	kindEvents
	numKinds
)

var kindNames = [numKinds]string{"related", "personal", "popular", "nbo", "events"}

// mixedWeights is the mixed scenario's blend, in percent. It imitates a
// storefront: home and product pages ask for personal (35%) and related (30%)
// lists, landing and category pages for popular items (10%), a few pages show
// one offer (5%), and a fifth of the calls are the behaviour stream coming
// back (POST /v1/events with a short session of 1-5 view/cart/purchase
// events), so reads are measured while the server also ingests and refreshes.
var mixedWeights = [numKinds]int{
	kindRelated:  30,
	kindPersonal: 35,
	kindPopular:  10,
	kindNBO:      5,
	kindEvents:   20,
}

// scenarioWeights returns the percentage of each request kind in a
// scenario.
func scenarioWeights(scenario string) ([numKinds]int, bool) {
	var w [numKinds]int
	switch scenario {
	case ScenarioRelated:
		w[kindRelated] = 100
	case ScenarioPersonal:
		w[kindPersonal] = 100
	case ScenarioPopular:
		w[kindPopular] = 100
	case ScenarioNBO:
		w[kindNBO] = 100
	case ScenarioMixed:
		w = mixedWeights
	default:
		return w, false
	}
	return w, true
}

// needIDs says which ids a blend draws from: products for related lists and
// event bodies, customers for personal lists, offers and event bodies.
func needIDs(w [numKinds]int) (products, customers bool) {
	products = w[kindRelated] > 0 || w[kindEvents] > 0
	customers = w[kindPersonal] > 0 || w[kindNBO] > 0 || w[kindEvents] > 0
	return products, customers
}
