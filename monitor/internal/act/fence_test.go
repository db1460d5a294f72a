package act

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanva/hanva/testenv/armsim"
)

// epochAt is an Options.Epoch that always says n.
func epochAt(n int64) func() int64 { return func() int64 { return n } }

// tagResource adds tags to a seeded resource (as another writer would).
func tagResource(t testing.TB, srv *armsim.Server, id string, tags map[string]string) {
	t.Helper()
	if err := addTags(srv, id, tags); err != nil {
		t.Fatal(err)
	}
}

// addTags is tagResource for a goroutine that is not the test's.
func addTags(srv *armsim.Server, id string, tags map[string]string) error {
	b, ok := srv.Resource(id)
	if !ok {
		return fmt.Errorf("tag %s: no such resource", id)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	cur, _ := m["tags"].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	for k, v := range tags {
		cur[k] = v
	}
	m["tags"] = cur
	if b, err := json.Marshal(m); err != nil {
		return err
	} else if err := srv.Seed(id, b); err != nil {
		return fmt.Errorf("tag %s: %w", id, err)
	}
	return nil
}

// tagsOf returns a resource's tags as stored.
func tagsOf(t testing.TB, srv *armsim.Server, id string) map[string]any {
	t.Helper()
	m, _ := resourceJSON(t, srv, id)["tags"].(map[string]any)
	return m
}

// writesTo lists the accepted writes to id.
func writesTo(srv *armsim.Server, id string) []armsim.Event {
	var out []armsim.Event
	for _, ev := range writes(srv) {
		if strings.EqualFold(ev.ResourceID, id) {
			out = append(out, ev)
		}
	}
	return out
}

func TestAFencedRouteTableIsNotWrittenAndStopsTheWholeConverge(t *testing.T) {
	const tables = 3
	e := newEnv(t, envOpts{seed: seedOpts{tables: tables, pipOn: nva1Ext.name}, options: Options{Epoch: epochAt(3)}})
	tagResource(t, e.srv, rtID(0), map[string]string{EpochTag: "5"})
	before := snapshot(t, e, tables)

	// The other resources are read only once rt-0 has been found fenced, so
	// the test sees what they do after the fence, not a race.
	var held atomic.Int32
	e.srv.BeforeRequest(func(method, p string) {
		if method != "GET" || !(strings.Contains(p, "/routeTables/rt-1") || strings.Contains(p, "/routeTables/rt-2") ||
			strings.Contains(p, "/publicIPAddresses/")) {
			return
		}
		held.Add(1)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			for _, l := range e.logs.events(EventConvergeFailed) {
				if l["route_table"] == "rt-0" {
					return
				}
			}
		}
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	e.srv.BeforeRequest(nil)

	if !errors.Is(err, ErrFenced) {
		t.Fatalf("Converge error %v, want ErrFenced", err)
	}
	// Usually all three reads are held; a read the engine had not sent yet
	// when the fence came is never sent at all.
	t.Logf("%d reads of other resources held until the fence", held.Load())
	r0 := rep.Resources[0]
	for _, want := range []string{`route table "rt-0"`, "hanva-epoch 5", "ours is 3"} {
		if r0.Err == nil || !strings.Contains(r0.Err.Error(), want) {
			t.Errorf("rt-0 error %v, want it to name %q", r0.Err, want)
		}
	}
	if r0.Attempts != 1 || r0.Changed {
		t.Errorf("rt-0 result %+v, want one attempt (a fence is final) and no change", r0)
	}
	for _, r := range rep.Resources {
		if !errors.Is(r.Err, ErrFenced) || r.Changed {
			t.Errorf("result %+v: want stopped by the fence, unchanged", r)
		}
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Errorf("%d writes reached ARM after the fence, want none", n)
	}
	after := snapshot(t, e, tables)
	for id, b := range before {
		if !reflect.DeepEqual(after[id], b) {
			t.Errorf("%s changed:\n got %s\nwant %s", id, jsonString(after[id]), jsonString(b))
		}
	}
	lines := e.logs.events(EventConvergeFailed)
	if len(lines) != tables+1 {
		t.Errorf("converge_failed lines %v, want one per resource", lines)
	}
	for _, l := range lines {
		if l["reason"] != "fenced" {
			t.Errorf("converge_failed line %v, want reason fenced", l)
		}
		if l["route_table"] == "rt-0" && (l["epoch"] != 3.0 || l["resource_epoch"] != 5.0) {
			t.Errorf("rt-0 line %v, want epoch 3 and resource_epoch 5", l)
		}
	}
}

func TestWritesStampTheEpochAndKeepEveryOtherTag(t *testing.T) {
	const tables = 3
	e := newEnv(t, envOpts{
		seed: seedOpts{tables: tables, pipOn: nva1Ext.name, hop: func(i int) string {
			if i == 2 {
				return nva2Int.ip // already on the target: no write, no tag
			}
			return nva1Int.ip
		}},
		options: Options{Epoch: epochAt(7)},
	})
	tagResource(t, e.srv, rtID(0), map[string]string{EpochTag: "5"})
	tagResource(t, e.srv, nicID(nva1Ext.name), map[string]string{EpochTag: "4"})
	before := snapshot(t, e, tables)

	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, tables)
	for i, r := range rep.Resources {
		if wantChanged := i != 2; r.Changed != wantChanged || r.Err != nil {
			t.Errorf("result %+v, want changed %v", r, wantChanged)
		}
	}

	// Each written resource is as it was but for the owned fields and the
	// epoch tag, which is now 7; the others are untouched.
	after := snapshot(t, e, tables)
	for id, b := range before {
		want := withoutVolatile(b).(map[string]any)
		got := withoutVolatile(after[id]).(map[string]any)
		stamped := true
		switch {
		case id == rtID(0) || id == rtID(1):
			for _, r := range []string{"default", "spokes"} {
				path(t, want, "properties", "routes", "name="+r, "properties").(map[string]any)["nextHopIpAddress"] = nva2Int.ip
			}
		case id == nicID(nva1Ext.name):
			delete(path(t, want, "properties", "ipConfigurations", "name=ipconfig1", "properties").(map[string]any), "publicIPAddress")
		case id == nicID(nva2Ext.name):
			path(t, want, "properties", "ipConfigurations", "name=ipconfig1", "properties").(map[string]any)["publicIPAddress"] = map[string]any{"id": pipID}
		default:
			stamped = false
		}
		if stamped {
			want["tags"].(map[string]any)[EpochTag] = "7"
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", id, jsonString(got), jsonString(want))
		}
	}
	if got, want := tagsOf(t, e.srv, rtID(0)), map[string]any{"owner": "netops", "env": "test", EpochTag: "7"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rt-0 tags %v, want %v", got, want)
	}
	if n := len(writesTo(e.srv, rtID(2))); n != 0 {
		t.Errorf("%d writes to rt-2, which needed no change", n)
	}
	var sawChange bool
	for _, ev := range writesTo(e.srv, rtID(0)) {
		for _, c := range ev.Changes {
			sawChange = sawChange || c == `tag "hanva-epoch" "5" -> "7"`
		}
	}
	if !sawChange {
		t.Errorf("rt-0 write events %+v, want the tag change 5 -> 7 in the same write", writesTo(e.srv, rtID(0)))
	}
}

func TestTheEpochIsReadAtEachWrite(t *testing.T) {
	// A new term starts between the detach and the attach.
	var calls atomic.Int64
	e := newEnv(t, envOpts{
		seed:    seedOpts{tables: 0, pipOn: nva1Ext.name},
		options: Options{Epoch: func() int64 { return 7 + min(calls.Add(1)-1, 1) }},
	})
	if _, err := e.eng.Converge(testCtx(t), "nva-2"); err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, 0)
	if got := tagsOf(t, e.srv, nicID(nva1Ext.name))[EpochTag]; got != "7" {
		t.Errorf("detached NIC tagged %v, want 7", got)
	}
	if got := tagsOf(t, e.srv, nicID(nva2Ext.name))[EpochTag]; got != "8" {
		t.Errorf("attached NIC tagged %v, want 8 (the epoch when it was written)", got)
	}
}

func TestNICWritesAreFencedLikeRouteTables(t *testing.T) {
	tests := []struct {
		name       string
		tag        map[string]string // NIC name -> its epoch tag
		wantErr    bool
		wantWrites map[string]string // NIC name -> epoch tag it was written with
		wantOwner  string            // NIC holding the public IP at the end ("" detached)
	}{
		{
			name: "the old NIC tagged 9 refuses the detach: nothing is written",
			tag:  map[string]string{nva1Ext.name: "9"}, wantErr: true,
			wantWrites: map[string]string{}, wantOwner: nva1Ext.name,
		},
		{
			name: "the new NIC tagged 9 refuses the attach after the detach",
			tag:  map[string]string{nva2Ext.name: "9"}, wantErr: true,
			wantWrites: map[string]string{nva1Ext.name: "3"}, wantOwner: "",
		},
		{
			name:       "NICs tagged with our own epoch or an older one are written",
			tag:        map[string]string{nva1Ext.name: "3", nva2Ext.name: "2"},
			wantWrites: map[string]string{nva1Ext.name: "3", nva2Ext.name: "3"}, wantOwner: nva2Ext.name,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{seed: seedOpts{tables: 0, pipOn: nva1Ext.name}, options: Options{Epoch: epochAt(3)}})
			for nic, v := range tt.tag {
				tagResource(t, e.srv, nicID(nic), map[string]string{EpochTag: v})
			}
			rep, err := e.eng.Converge(testCtx(t), "nva-2")
			if got := errors.Is(err, ErrFenced); got != tt.wantErr {
				t.Fatalf("Converge error %v, want fenced %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if r := rep.Resources[0]; r.Attempts != 1 || !strings.Contains(r.Err.Error(), "hanva-epoch 9, ours is 3") {
					t.Errorf("public IP result %+v, want one attempt and the epochs named", r)
				}
				if l := e.logs.events(EventConvergeFailed); len(l) != 1 || l[0]["reason"] != "fenced" || l[0]["public_ip"] != "pip-1" {
					t.Errorf("converge_failed lines %v, want one for pip-1 with reason fenced", l)
				}
			}
			got := map[string]string{}
			for _, ev := range writes(e.srv) {
				name := ev.ResourceID[strings.LastIndex(ev.ResourceID, "/")+1:]
				v, _ := tagsOf(t, e.srv, ev.ResourceID)[EpochTag].(string)
				got[name] = v
			}
			if !maps.Equal(got, tt.wantWrites) {
				t.Errorf("written NICs and their epoch tags %v, want %v", got, tt.wantWrites)
			}
			for nic, v := range tt.tag {
				if _, written := tt.wantWrites[nic]; !written {
					if got := tagsOf(t, e.srv, nicID(nic))[EpochTag]; got != v {
						t.Errorf("fenced %s tag %v, want %s kept", nic, got, v)
					}
				}
			}
			owner := pipOwner(t, e)
			if tt.wantOwner == "" && owner != "" || tt.wantOwner != "" && !strings.EqualFold(owner, nicID(tt.wantOwner)+ipconfig1) {
				t.Errorf("public IP on %q, want %q", owner, tt.wantOwner)
			}
		})
	}
}

func TestANewerLeadersWriteBetweenOurReadAndPUTFencesTheRetry(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, pipOn: nva2Ext.name}, options: Options{Epoch: epochAt(3)}})
	// Right before our PUT, the leader of epoch 4 writes rt-0: our PUT gets
	// 412, and the re-read shows its tag.
	var raced atomic.Bool
	e.srv.BeforeRequest(func(method, p string) {
		if method == "PUT" && strings.Contains(p, "/routeTables/rt-0") && raced.CompareAndSwap(false, true) {
			if err := addTags(e.srv, rtID(0), map[string]string{EpochTag: "4", "owner": "newer"}); err != nil {
				t.Errorf("stage the newer leader's write: %v", err)
			}
		}
	})
	rep, err := e.eng.Converge(testCtx(t), "nva-2")
	e.srv.BeforeRequest(nil)
	if !raced.Load() {
		t.Fatal("the race was not staged")
	}
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("Converge error %v, want ErrFenced", err)
	}
	if r := rep.Resources[0]; r.Attempts != 2 || r.Changed {
		t.Errorf("rt-0 result %+v, want 2 attempts (412, re-read, fenced) and no change", r)
	}
	var statuses []int
	for _, ev := range e.srv.Events(0) {
		if strings.Contains(ev.ResourceID, "/routeTables/") {
			statuses = append(statuses, ev.Status)
		}
	}
	if !reflect.DeepEqual(statuses, []int{412}) {
		t.Errorf("route table write statuses %v, want only the 412", statuses)
	}
	if got := tagsOf(t, e.srv, rtID(0)); got[EpochTag] != "4" || got["owner"] != "newer" {
		t.Errorf("rt-0 tags %v, want the newer leader's", got)
	}
}

func TestWithoutAnEpochNothingIsTaggedOrFenced(t *testing.T) {
	for name, epoch := range map[string]func() int64{"Epoch nil": nil, "Epoch returning 0": epochAt(0)} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{seed: seedOpts{tables: 2, pipOn: nva1Ext.name}, options: Options{Epoch: epoch}})
			tagResource(t, e.srv, rtID(0), map[string]string{EpochTag: "5"})
			if _, err := e.eng.Converge(testCtx(t), "nva-2"); err != nil {
				t.Fatalf("Converge: %v", err)
			}
			wantOnNVA2(t, e, 2)
			if got := tagsOf(t, e.srv, rtID(0))[EpochTag]; got != "5" {
				t.Errorf("rt-0 epoch tag %v, want 5 as it was", got)
			}
			for _, id := range []string{rtID(1), nicID(nva1Ext.name), nicID(nva2Ext.name)} {
				if tags := tagsOf(t, e.srv, id); tags[EpochTag] != nil {
					t.Errorf("%s tagged %v", id, tags)
				}
			}
		})
	}
}

func TestANonIntegerEpochTagCountsAsZeroAndIsLoggedOnce(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 1, pipOn: nva2Ext.name}, options: Options{Epoch: epochAt(3)}})
	tagResource(t, e.srv, rtID(0), map[string]string{EpochTag: "banana"})
	ctx := testCtx(t)
	for range 2 {
		obs, err := e.eng.Observe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if obs.RouteTables[0].Epoch != 0 || obs.MaxEpoch() != 0 {
			t.Errorf("epoch %d, max %d; want 0", obs.RouteTables[0].Epoch, obs.MaxEpoch())
		}
	}
	if _, err := e.eng.Converge(ctx, "nva-2"); err != nil {
		t.Fatalf("Converge: %v", err)
	}
	wantOnNVA2(t, e, 1)
	if got := tagsOf(t, e.srv, rtID(0))[EpochTag]; got != "3" {
		t.Errorf("rt-0 epoch tag %v, want 3", got)
	}
	lines := e.logs.events(EventEpochTagInvalid)
	if len(lines) != 1 || lines[0]["resource"] != "rt-0" || lines[0]["value"] != "banana" || lines[0]["level"] != "WARN" {
		t.Errorf("epoch_tag_invalid lines %v, want one warning for rt-0", lines)
	}
}

func TestObserveReportsEpochTags(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 2, pipOn: nva1Ext.name}})
	obs, err := e.eng.Observe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := obs.MaxEpoch(); got != 0 {
		t.Errorf("MaxEpoch of untagged resources = %d, want 0", got)
	}

	tagResource(t, e.srv, rtID(1), map[string]string{EpochTag: "5"})
	tagResource(t, e.srv, nicID(nva2Int.name), map[string]string{"Hanva-Epoch": "11"}) // tag names are case-insensitive
	obs, err = e.eng.Observe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := []int64{obs.RouteTables[0].Epoch, obs.RouteTables[1].Epoch}; !reflect.DeepEqual(got, []int64{0, 5}) {
		t.Errorf("route table epochs %v, want [0 5]", got)
	}
	for id, n := range obs.NICs {
		want := int64(0)
		if id == nicID(nva2Int.name) {
			want = 11
		}
		if n.Epoch != want {
			t.Errorf("NIC %s epoch %d, want %d", id, n.Epoch, want)
		}
	}
	if got := obs.MaxEpoch(); got != 11 {
		t.Errorf("MaxEpoch = %d, want 11", got)
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Errorf("Observe sent %d writes", n)
	}
}

func TestPlanSaysWhichWritesWouldBeFenced(t *testing.T) {
	e := newEnv(t, envOpts{seed: seedOpts{tables: 2, pipOn: nva1Ext.name}, options: Options{Epoch: epochAt(3)}})
	tagResource(t, e.srv, rtID(0), map[string]string{EpochTag: "5"})
	tagResource(t, e.srv, rtID(1), map[string]string{EpochTag: "3"})
	tagResource(t, e.srv, nicID(nva1Ext.name), map[string]string{EpochTag: "9"})
	changes, err := e.eng.Plan(testCtx(t), "nva-2")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.ResourceID[strings.LastIndex(c.ResourceID, "/")+1:]+": "+c.Description)
	}
	const fenced5 = " (fenced: it carries tag hanva-epoch 5, ours is 3; would not be written)"
	want := []string{
		`rt-0: route "default" (0.0.0.0/0) next hop 10.0.1.4 -> 10.0.1.5` + fenced5,
		`rt-0: route "spokes" (10.8.0.0/16) next hop 10.0.1.4 -> 10.0.1.5` + fenced5,
		`rt-1: route "default" (0.0.0.0/0) next hop 10.0.1.4 -> 10.0.1.5`,
		`rt-1: route "spokes" (10.8.0.0/16) next hop 10.0.1.4 -> 10.0.1.5`,
		`pip-1: detach public IP pip-1 from nic nva1-ext/ipconfig1 (fenced: it carries tag hanva-epoch 9, ours is 3; would not be written)`,
		`pip-1: attach public IP pip-1 to nic nva2-ext/ipconfig1`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := writeRequests(e.srv); n != 0 {
		t.Errorf("Plan sent %d writes", n)
	}
}

func TestStampKeepsTagsAndFencesNewerEpochs(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name       string
		ours       int64
		tags       map[string]*string
		wantTags   map[string]string // nil: tags must come back as nil
		wantFenced bool
	}{
		{name: "no tags at all get the epoch tag", ours: 7, tags: nil, wantTags: map[string]string{EpochTag: "7"}},
		{name: "other tags are kept", ours: 7, tags: map[string]*string{"owner": str("netops"), "empty": str("")},
			wantTags: map[string]string{"owner": "netops", "empty": "", EpochTag: "7"}},
		{name: "an older epoch is replaced", ours: 7, tags: map[string]*string{EpochTag: str("6")}, wantTags: map[string]string{EpochTag: "7"}},
		{name: "our own epoch is rewritten as is", ours: 7, tags: map[string]*string{EpochTag: str("7")}, wantTags: map[string]string{EpochTag: "7"}},
		{name: "a newer epoch fences", ours: 7, tags: map[string]*string{EpochTag: str("8")}, wantTags: map[string]string{EpochTag: "8"}, wantFenced: true},
		{name: "a newer epoch under another casing fences", ours: 7, tags: map[string]*string{"HANVA-EPOCH": str(" 12 ")},
			wantTags: map[string]string{"HANVA-EPOCH": " 12 "}, wantFenced: true},
		{name: "a tag under another casing is updated in place, not duplicated", ours: 7, tags: map[string]*string{"Hanva-Epoch": str("2")},
			wantTags: map[string]string{"Hanva-Epoch": "7"}},
		{name: "a value that is not an integer counts as 0", ours: 1, tags: map[string]*string{EpochTag: str("v2")}, wantTags: map[string]string{EpochTag: "1"}},
		{name: "a nil value counts as 0", ours: 1, tags: map[string]*string{EpochTag: nil}, wantTags: map[string]string{EpochTag: "1"}},
		// An absurd tag must not fence every leader out for good, nor be
		// adopted (max+1 would wrap to a negative epoch: fencing off).
		{name: "a tag near the int64 maximum is refused, counts as 0", ours: 3, tags: map[string]*string{EpochTag: str("9223372036854775806")},
			wantTags: map[string]string{EpochTag: "3"}},
		{name: "a tag above 2^53 is refused", ours: 3, tags: map[string]*string{EpochTag: str("9007199254740993")}, wantTags: map[string]string{EpochTag: "3"}},
		{name: "a negative tag is refused", ours: 3, tags: map[string]*string{EpochTag: str("-5")}, wantTags: map[string]string{EpochTag: "3"}},
		{name: "a tag of exactly 2^53 still fences", ours: 3, tags: map[string]*string{EpochTag: str("9007199254740992")},
			wantTags: map[string]string{EpochTag: "9007199254740992"}, wantFenced: true},
		{name: "without an epoch nothing is stamped", ours: 0, tags: nil, wantTags: nil},
		{name: "without an epoch nothing is fenced", ours: 0, tags: map[string]*string{EpochTag: str("9")}, wantTags: map[string]string{EpochTag: "9"}},
		{name: "a negative epoch counts as none", ours: -4, tags: map[string]*string{EpochTag: str("9")}, wantTags: map[string]string{EpochTag: "9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Engine{opts: Options{Epoch: epochAt(tt.ours)}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			r, _ := parseResource(rtID(0), "routeTables")
			got, err := e.stamp(r, tt.tags)
			if fenced := errors.Is(err, ErrFenced); fenced != tt.wantFenced {
				t.Fatalf("stamp error %v, want fenced %v", err, tt.wantFenced)
			}
			if err != nil {
				if _, retry := e.retryDelay(err, 1); retry {
					t.Error("a fenced write would be retried")
				}
				if failureReason(err) != "fenced" {
					t.Errorf("reason %q, want fenced", failureReason(err))
				}
			}
			if tt.wantTags == nil {
				if got != nil {
					t.Errorf("tags %v, want nil", got)
				}
				return
			}
			flat := map[string]string{}
			for k, v := range got {
				flat[k] = deref(v)
			}
			if !maps.Equal(flat, tt.wantTags) {
				t.Errorf("tags %v, want %v", flat, tt.wantTags)
			}
		})
	}
}

func TestMaxEpochIsTheHighestTagSeen(t *testing.T) {
	o := Observed{
		NICs:        map[string]NICState{"a": {Epoch: 4}, "b": {Epoch: 9}},
		RouteTables: []RouteTableState{{Epoch: 7}, {}},
	}
	if got := o.MaxEpoch(); got != 9 {
		t.Errorf("MaxEpoch = %d, want 9", got)
	}
	if got := (&Observed{}).MaxEpoch(); got != 0 {
		t.Errorf("MaxEpoch of nothing = %d, want 0", got)
	}
}
