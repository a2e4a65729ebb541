package features

// OpenTestStore is openTestStore (store_test.go) for the tests of package
// features_test: one helper opens every test store of this package.
var OpenTestStore = openTestStore
