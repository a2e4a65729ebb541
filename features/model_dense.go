package features

// Dense reports whether basis b's lists are EASE's (the dense model): they
// carry negative weights, which the engine's scatter budget must not cut
// (recommend/budget.go).
func (m *Model) Dense(b Basis) bool { return m.dense[b] }
