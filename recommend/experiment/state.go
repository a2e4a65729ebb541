package experiment

type exposureOp struct {
	exp, variant, recID, unit string
	items                     []string // as served, from Expose
	pids                      []uint32 // the items' internal ids, as logged
	ts                        int64
	forced                    bool // the request named the variant
	// c is the definition the variant was chosen under; the weights may
	// change before the flusher sees the exposure.
	c *compiled
}

type hookKind uint8

const (
	hookOutcome hookKind = iota + 1
	hookErase
	hookDeleteExperiment
	hookSync
	hookApplied // exposures another node logged (clusterwatch.go)
)

type hookOp struct {
	kind    hookKind
	outcome outcomeOp
	id      string // erased customer or deleted experiment
	done    chan error
	applied appliedExposures // hookApplied
}

type outcomeOp struct {
	recID, cust string
	product     uint32
	click       bool // else a conversion, or a return with ret
	ret         bool
	value       float64
	ts          int64
}

// expState is what one experiment has collected, per variant name.
type expState struct {
	variants map[string]*variantState
	// forcedUnits were served a forced variant at least once; the SRM check
	// leaves them out. Forcing does not depend on the hash, so dropping
	// them keeps the hash-assigned rest a fair sample of the weights.
	forcedUnits map[string]struct{}
}

type variantState struct {
	exposures   int64
	clicked     int64 // exposures with at least one attributed click
	conversions int64 // units with at least one attributed conversion
	revSum      float64
	revSumSq    float64
	units       map[string]unitState
}

type unitState struct {
	cfg       uint64 // fingerprint of the last hash-assigned exposure; 0: none
	converted bool
}

// exposure is one served list in the attribution index.
type exposure struct {
	recID        string
	exp, variant string
	unit         string
	items        []uint32
	seq          uint64 // 0 until appended to the log
	ts           int64
	cfg          uint64
	forced       bool
	clicked      bool
	converted    bool
	erased       bool
	revenue      float64
	outs         []*outcomeRef
	raw          []byte // the encoded log entry until it is appended
}

type outcomeRef struct {
	exp    *exposure
	seq    uint64
	cust   string
	click  bool
	ret    bool // a return: takes revenue back (returns.go)
	value  float64
	erased bool
	raw    []byte
	// product is the conversion's or return's product; unknown (false) for
	// conversions logged before returns counted.
	product    uint32
	hasProduct bool
	taken      float64 // what a return took from the exposure's revenue
}
