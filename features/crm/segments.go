package crm

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/expr-lang/expr/vm"

	"github.com/affinity-rec/affinity/features"
)

// Segments: named rules over customer profiles, with membership kept as one
// roaring bitmap per segment. Rules are compiled once and their cost is
// measured before they are accepted (rules.go, rulecost.go); membership is
// evaluated for every customer when a segment is defined, then updated by
// a background applier for the customers an event or an attribute change
// touches (segapply.go: ingestion never waits for a rule), and
// re-evaluated for everyone in the background every minute (recency and
// RFM scores move without events). An erasure takes the customer out at
// once. Readers see immutable snapshots published through an atomic
// pointer; every change to them is made under segMu.

// segmentKind is the record kind segment definitions are stored under.
const segmentKind = "segment"

// MaxSegments bounds how many segments may be defined: every event is
// evaluated against every segment.
const MaxSegments = 200

// Segment is a segment's definition and size, as read at one moment: a
// plain copy, safe to share.
type Segment struct {
	Name    string `json:"name"`
	Rule    string `json:"rule"`
	Members int    `json:"members"`
}

// segmentRecord is the stored form of a segment.
type segmentRecord struct {
	Rule      string    `json:"rule"`
	UpdatedAt time.Time `json:"updated_at"`
}

// segment is one published segment: never changed once published (a
// membership change publishes a new segment sharing name and rule).
type segment struct {
	name    string
	rule    *Rule
	members *roaring.Bitmap
	// def identifies the definition: it survives membership updates and
	// changes when the segment is redefined.
	def *segmentDef
}

type segmentDef struct {
	logOnce sync.Once
}

// segmentSet is the published set of segments. Immutable.
type segmentSet struct {
	list []*segment // sorted by name
}

func (ss *segmentSet) find(name string) (int, bool) {
	if ss == nil {
		return 0, false
	}
	i := sort.Search(len(ss.list), func(i int) bool { return ss.list[i].name >= name })
	return i, i < len(ss.list) && ss.list[i].name == name
}

// with returns a copy of ss with seg added or replacing its namesake.
func (ss *segmentSet) with(seg *segment) *segmentSet {
	n := &segmentSet{}
	if ss != nil {
		n.list = make([]*segment, 0, len(ss.list)+1)
		n.list = append(n.list, ss.list...)
	}
	i, found := n.find(seg.name)
	if found {
		n.list[i] = seg
	} else {
		n.list = append(n.list, nil)
		copy(n.list[i+1:], n.list[i:])
		n.list[i] = seg
	}
	return n
}

func (ss *segmentSet) without(name string) *segmentSet {
	n := &segmentSet{}
	for _, s := range ss.list {
		if s.name != name {
			n.list = append(n.list, s)
		}
	}
	return n
}

// ValidateSegmentName checks a segment name: 1 to 64 letters, digits, '_',
// '-' or '.', so that it reads well in a URL and inside a rule
// (`"at_risk" in segments`); not "." or ".." (features.ValidateName).
func ValidateSegmentName(name string) error {
	if name == "" {
		return &features.FieldError{Field: "name", Msg: "is required"}
	}
	if len(name) > 64 {
		return &features.FieldError{Field: "name", Msg: "is longer than 64 bytes"}
	}
	if name == "." || name == ".." {
		return features.ValidateName("name", name)
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return &features.FieldError{Field: "name", Msg: fmt.Sprintf("may hold only letters, digits, '_', '-' and '.', not %q", r)}
		}
	}
	return nil
}

// CompileSegmentRule compiles a segment rule: a rule that does not read
// `segments` (membership of a segment may not depend on other segments).
func CompileSegmentRule(src string) (*Rule, error) {
	r, err := CompileRule(src)
	if err != nil {
		return nil, err
	}
	if r.usesSegments {
		return nil, &features.FieldError{Field: "rule", Msg: "may not use segments: a segment cannot be defined by membership of segments"}
	}
	return r, nil
}

// PutSegment creates or replaces segment name with rule, evaluates it for
// every customer and stores it. A bad name or rule, or a rule over the
// cost bounds (CheckRuleCost), is a *FieldError. When it returns, the
// segment's membership reflects every write acknowledged before the call.
func (s *Service) PutSegment(name, rule string) (Segment, error) {
	if err := ValidateSegmentName(name); err != nil {
		return Segment{}, err
	}
	r, err := CompileSegmentRule(rule)
	if err != nil {
		return Segment{}, err
	}
	if err := s.CheckRuleCost("rule", r); err != nil {
		return Segment{}, err
	}
	body, err := json.Marshal(segmentRecord{Rule: rule, UpdatedAt: time.Now().UTC()})
	if err != nil {
		return Segment{}, fmt.Errorf("cannot encode segment: %w", err)
	}
	if err := s.defineSegment(name, r, body); err != nil {
		return Segment{}, err
	}
	if err := s.FlushSegments(); err != nil {
		return Segment{}, err
	}
	out, err := s.GetSegment(name)
	if errors.Is(err, features.ErrNotFound) {
		// Deleted by a concurrent request since: report what was stored.
		return Segment{Name: name, Rule: rule}, nil
	}
	return out, err
}

// GetSegment returns segment name; ErrNotFound when there is none.
func (s *Service) GetSegment(name string) (Segment, error) {
	set := s.segs.Load()
	i, ok := set.find(name)
	if !ok {
		return Segment{}, features.Unknown("segment", name)
	}
	g := set.list[i]
	return Segment{Name: g.name, Rule: g.rule.String(), Members: int(g.members.GetCardinality())}, nil
}

// ListSegments returns every segment, by name.
func (s *Service) ListSegments() []Segment {
	set := s.segs.Load()
	if set == nil {
		return []Segment{}
	}
	out := make([]Segment, len(set.list))
	for i, g := range set.list {
		out[i] = Segment{Name: g.name, Rule: g.rule.String(), Members: int(g.members.GetCardinality())}
	}
	return out
}

// defineSegment stores the definition, evaluates it for everyone and
// publishes it, one definition change at a time. The record is stored
// first, outside segMu: a store write waits for the writer, whose erasure
// hook may be waiting for segMu.
func (s *Service) defineSegment(name string, r *Rule, body []byte) error {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	set := s.segs.Load()
	if _, found := set.find(name); !found && set != nil && len(set.list) >= MaxSegments {
		return &features.FieldError{Field: "name", Msg: fmt.Sprintf("would be segment %d; at most %d may be defined", MaxSegments+1, MaxSegments)}
	}
	if err := s.stored.Put(segmentKind, name, body); err != nil {
		return fmt.Errorf("cannot store segment: %w", err)
	}
	return s.fullEval([]*Rule{r}, func(bms []*roaring.Bitmap) {
		bms[0].RunOptimize()
		s.segs.Store(s.segs.Load().with(&segment{name: name, rule: r, members: bms[0], def: &segmentDef{}}))
	})
}

// DeleteSegment removes segment name; ErrNotFound when there is none.
func (s *Service) DeleteSegment(name string) error {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	if _, ok := s.segs.Load().find(name); !ok {
		return features.Unknown("segment", name)
	}
	if err := s.stored.Delete(segmentKind, name); err != nil {
		return err
	}
	s.segMu.Lock()
	s.segs.Store(s.segs.Load().without(name))
	s.segMu.Unlock()
	s.ptc.drop(name)
	return nil
}

// SegmentMembers returns segment name's members. The bitmap is shared and
// must not be changed.
func (s *Service) SegmentMembers(name string) (*roaring.Bitmap, error) {
	set := s.segs.Load()
	i, ok := set.find(name)
	if !ok {
		return nil, features.Unknown("segment", name)
	}
	return set.list[i].members, nil
}

// SegmentsOf returns the names of the segments customer c is in, sorted.
func (s *Service) SegmentsOf(c uint32) []string {
	set := s.segs.Load()
	out := []string{}
	if set == nil {
		return out
	}
	for _, g := range set.list {
		if g.members.Contains(c) {
			out = append(out, g.name)
		}
	}
	return out
}

// loadSegments reads the stored segments and evaluates them for everyone.
// It runs in load, before the writer starts, so it evaluates directly. A
// stored rule that no longer compiles is logged and skipped, not fatal:
// the store must open; one stored before the cost bounds is kept and
// logged (CompileStoredRule).
func (s *Service) loadSegments() error {
	type stored struct {
		name string
		rule *Rule
	}
	var list []stored
	err := s.stored.List(segmentKind, func(id string, v []byte) error {
		var rec segmentRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			s.log.Error("cannot read stored segment; skipped", "segment", id, "err", err)
			return nil
		}
		r, over, err := CompileStoredRule(rec.Rule)
		if err == nil && r.usesSegments {
			err = errors.New("it uses segments")
		}
		if err != nil {
			s.log.Error("stored segment rule does not compile; skipped", "segment", id, "err", err)
			return nil
		}
		if over != nil {
			s.log.Warn("stored segment rule is over the rule cost bounds; kept, but redefine it", "segment", id, "err", over)
		}
		list = append(list, stored{id, r})
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot load segments: %w", err)
	}
	rules := make([]*Rule, len(list))
	for i, st := range list {
		rules[i] = st.rule
	}
	bms := s.evalEveryone(rules)
	set := &segmentSet{}
	for i, st := range list {
		bms[i].RunOptimize()
		set = set.with(&segment{name: st.name, rule: st.rule, members: bms[i], def: &segmentDef{}})
	}
	s.segs.Store(set)
	return nil
}

// evalEveryone evaluates rules for every known customer, reading state
// under short locks (it may run outside the writer).
func (s *Service) evalEveryone(rules []*Rule) []*roaring.Bitmap {
	bms := make([]*roaring.Bitmap, len(rules))
	for i := range bms {
		bms[i] = roaring.New()
	}
	if len(rules) == 0 {
		return bms
	}
	env := make(map[string]any, len(ruleEnvTemplate))
	var v vm.VM
	now := s.st.Now().Unix()
	n := s.st.NumCustomers()
	for c := 0; c < n; c++ {
		id := uint32(c)
		if !s.knownCustomer(id) {
			continue
		}
		s.fillEnv(env, id, now)
		for i, r := range rules {
			if ok, _ := r.matchVM(&v, env); ok {
				bms[i].Add(id)
			}
		}
	}
	return bms
}

// fullEval evaluates rules for every customer while ingestion goes on,
// then, under segMu, calls publish with the finished bitmaps, and hands the
// customers that changed during the pass (it may have read them before the
// change) to the applier, which re-evaluates them against what publish
// made visible. A customer changed after that is queued as usual, and the
// applier's round for it reads the published set. One full evaluation runs
// at a time.
func (s *Service) fullEval(rules []*Rule, publish func([]*roaring.Bitmap)) error {
	s.passMu.Lock()
	defer s.passMu.Unlock()
	a := &s.apply
	a.mu.Lock()
	a.passDirty = roaring.New()
	a.mu.Unlock()
	bms := s.evalEveryone(rules)
	if f := s.afterEval.Load(); f != nil {
		(*f)()
	}
	s.segMu.Lock()
	publish(bms)
	s.segMu.Unlock()
	a.mu.Lock()
	dirty := a.passDirty
	a.passDirty = nil
	a.mu.Unlock()
	if !dirty.IsEmpty() {
		s.enqueueMembership(dirty.ToArray()...)
	}
	return nil
}

// reevaluateAll recomputes every segment's membership from scratch.
func (s *Service) reevaluateAll() error {
	set := s.segs.Load()
	if set == nil || len(set.list) == 0 {
		return nil
	}
	segs := append([]*segment(nil), set.list...)
	rules := make([]*Rule, len(segs))
	for i, g := range segs {
		rules[i] = g.rule
	}
	return s.fullEval(rules, func(bms []*roaring.Bitmap) {
		cur := s.segs.Load()
		next := cur
		for i, g := range segs {
			j, ok := cur.find(g.name)
			if !ok || cur.list[j].def != g.def {
				continue // deleted or redefined meanwhile: its own evaluation stands
			}
			if cur.list[j].members.Equals(bms[i]) {
				continue // keep the old bitmap: cached segment products stay valid
			}
			bms[i].RunOptimize()
			next = next.with(&segment{name: g.name, rule: g.rule, members: bms[i], def: g.def})
		}
		s.segs.Store(next)
	})
}
