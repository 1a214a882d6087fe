package toolkit

import (
	"fmt"
	"slices"
	"strings"
)

//go:generate go test . -run TestKnownRegionsMatchSDK -update-regions

// knownRegions maps every region of the AWS SDK's partition data
// (regions_gen.go) to its partition. Any string shaped like a region used
// to pass, so one call could make a client, a pacer gate and goroutines for
// thousands of made-up regions; only these do now. A region newer than
// this build's SDK needs an SDK update (go get -u
// github.com/aws/aws-sdk-go-v2, then go generate ./cloudwatchmcp).
var knownRegions = func() map[string]string {
	m := map[string]string{}
	for partition, regions := range sdkPartitionRegions {
		for _, r := range regions {
			m[r] = partition
		}
	}
	return m
}()

// knownRegionList is the sorted list, for error messages.
var knownRegionList = func() string {
	names := make([]string, 0, len(knownRegions))
	for r := range knownRegions {
		names = append(names, r)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}()

// IsKnownRegion reports whether r is a region of the SDK's partitions.
func IsKnownRegion(r string) bool {
	_, ok := knownRegions[r]
	return ok
}

// UnknownRegionMessage names the refused region (clipped: it may come
// from a caller) and every region that would do.
func UnknownRegionMessage(r string) string {
	return fmt.Sprintf("region %.64q is not an AWS region (known: %s)", r, knownRegionList)
}
