// Package decide is the pure decision logic of nva-monitor: it turns probe
// rounds into NVA health (with thresholds) and decides when the active NVA
// must move (failover, anti-flap, failback). It does no I/O, never reads the
// clock and starts no goroutines; time comes in as an argument, so every rule
// is tested with an injected time.
//
// Every action and every hold carries an enumerated Reason that is also the
// "reason" log attribute and metric label.
//
// Usage:
//
//	p := decide.Policy{
//		NVAs:                []string{"nva-1", "nva-2"}, // nva-1 is preferred
//		FailureThreshold:    3,
//		SuccessThreshold:    2,
//		MinFailoverInterval: 30 * time.Second,
//		FailbackHoldoff:     60 * time.Second,
//		Failback:            decide.FailbackNever,
//	}
//	if err := p.Validate(); err != nil {
//		return err
//	}
//	state := decide.NewState(p, activeReadFromAzure) // "" if none
//	for round := range rounds {
//		obs := decide.Observation{}
//		for _, r := range round.Results {
//			obs[r.NVA] = r.OK
//		}
//		var d decide.Decision
//		state, d = decide.Next(p, state, obs, round.Started)
//		for _, c := range d.Changes {
//			log.Info("nva health changed", "nva", c.NVA, "from", c.From, "to", c.To)
//		}
//		if d.Action.Kind == decide.Failover {
//			converge(d.Action.To, d.Action.Reason) // state.Active is already d.Action.To
//		}
//		if d.Hold != decide.ReasonNone {
//			log.Warn("active nva down, not failing over", "reason", d.Hold)
//		}
//	}
//
// When an operator moves the active NVA by hand, record it with
// state = decide.Manual(state, to, now) so that anti-flap counts it.
package decide
