//go:build !race

package spans

const raceAllocs = 0
