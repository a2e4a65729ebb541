package eval

// mt19937 is the 32-bit Mersenne Twister (Matsumoto and Nishimura, 1998),
// seeded and turned into floats the way numpy's legacy np.random.seed(int)
// and np.random.rand are, so stratified splits draw the numbers Microsoft
// Recommenders draws. Go's math/rand generators cannot reproduce them.
// Not safe for concurrent use.
type mt19937 struct {
	state [mtN]uint32
	next  int
}

const (
	mtN = 624
	mtM = 397
)

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{next: mtN}
	m.state[0] = seed
	for i := 1; i < mtN; i++ {
		prev := m.state[i-1]
		m.state[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	return m
}

func (m *mt19937) uint32() uint32 {
	if m.next >= mtN {
		m.regenerate()
	}
	y := m.state[m.next]
	m.next++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

func (m *mt19937) regenerate() {
	for i := range mtN {
		y := m.state[i]&0x80000000 | m.state[(i+1)%mtN]&0x7fffffff
		v := m.state[(i+mtM)%mtN] ^ y>>1
		if y&1 != 0 {
			v ^= 0x9908b0df
		}
		m.state[i] = v
	}
	m.next = 0
}

// float64 returns a uniform float in [0, 1) with 53 random bits built from
// two outputs, as numpy's random_sample does.
func (m *mt19937) float64() float64 {
	a := m.uint32() >> 5
	b := m.uint32() >> 6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}
