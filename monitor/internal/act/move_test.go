package act

import (
	"reflect"
	"testing"
)

// groupBy keeps the groups in the order their first item comes, and the
// items of a group in their order: a round's NIC writes are made in a
// stable order.
func TestGroupByKeepsFirstSeenOrder(t *testing.T) {
	nic := map[int]string{0: "b", 1: "a", 2: "b", 3: "c", 4: "a"}
	got := groupBy([]int{0, 1, 2, 3, 4}, func(i int) string { return nic[i] })
	want := [][]int{{0, 2}, {1, 4}, {3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groupBy = %v, want %v", got, want)
	}
	if got := groupBy(nil, func(int) string { return "" }); got != nil {
		t.Errorf("groupBy(nil) = %v, want nil", got)
	}
}
