package cloudwatchmcp

import "testing"

// defaultTestCatalog is the embedded catalog, as a provisioned handler has it.
func defaultTestCatalog(t testing.TB) *metricCatalog {
	t.Helper()
	c, err := loadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	return c
}
