package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/experiment"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// fullMember is a member with every service a server runs: experiments
// and offers beside segments and rules, wired as cmd/affinity does.
type fullMember struct {
	*member
	exps   *experiment.Service
	offers *offer.Service
}

func startFullMember(t testing.TB, dir, urls string, expMods ...func(*experiment.Options)) *fullMember {
	t.Helper()
	m := &member{t: t, dir: dir, urls: urls}
	st := openStore(t, dir, fixedClock)
	var err error
	m.store = st
	m.node, err = node.Start(context.Background(), st, node.Config{URLs: urls, Name: "test-" + dir, Poll: 100 * time.Millisecond, MinSeq: 20 * time.Second, MaxSilence: time.Second})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	if m.crm, err = crm.New(st, st.Records(), nil); err != nil {
		t.Fatal(err)
	}
	ro := recommend.DefaultOptions()
	ro.UseTuning = false
	eng, err := recommend.New(recommend.StoreDeps(st, m.crm), ro)
	if err != nil {
		t.Fatal(err)
	}
	checks := recommend.ParamChecks(eng.Options().MaxLimit)
	checks["nbo_policy"] = offer.CheckPolicy
	params := experiment.Params{Checks: checks, Variant: []func(map[string]any) (string, string){recommend.CheckVariantParams}}
	fm := &fullMember{member: m}
	eo := experiment.DefaultOptions()
	for _, mod := range expMods {
		mod(&eo)
	}
	if fm.exps, err = experiment.New(st.Records(), st, params, eo); err != nil {
		t.Fatal(err)
	}
	oo := offer.DefaultOptions()
	oo.Seed = 7 // the same draws on every node (one node answers each call anyway)
	if fm.offers, err = offer.New(st.Records(), st, m.crm, eng, oo); err != nil {
		t.Fatal(err)
	}
	m.serveAPI(nil, api.Deps{Store: st, Engine: eng, CRM: m.crm, Experiments: fm.exps, Offers: fm.offers})
	return fm
}

// startFullMembers starts n full members on urls, each stopped when the
// test ends (fs[i] as it then is: a test may restart one), and returns
// them with their plain members.
func startFullMembers(t *testing.T, urls string, n int) (fs []*fullMember, ms []*member) {
	t.Helper()
	fs, ms = make([]*fullMember, n), make([]*member, n)
	for i := range fs {
		fs[i] = startFullMember(t, t.TempDir(), urls)
		t.Cleanup(func() { fs[i].stop() })
		ms[i] = fs[i].member
	}
	return fs, ms
}

// stop shuts down as serve does: HTTP, the services that buffer, the
// cluster membership, then the store.
func (fm *fullMember) stop() {
	if fm.store == nil {
		return
	}
	fm.srv.App().ShutdownWithTimeout(5 * time.Second)
	if err := fm.offers.Close(); err != nil {
		fm.t.Error(err)
	}
	if err := fm.exps.Close(); err != nil {
		fm.t.Error(err)
	}
	fm.node.Close()
	fm.crm.Close()
	if err := fm.store.Close(); err != nil {
		fm.t.Error(err)
	}
	fm.store = nil
}
