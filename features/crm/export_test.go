package crm

// TestStore and OpenTestStore are testStore and openTestStore
// (helpers_internal_test.go) for the tests of package crm_test.
type TestStore = testStore

var OpenTestStore = openTestStore
