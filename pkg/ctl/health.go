package ctl

import "fmt"

// Unhealthy lists what keeps wpinit's services from being healthy; empty means healthy.
// A service is fine when RUNNING and ready, or deliberately down when it is not critical
// (STOPPED through ctl, EXITED as its restart policy allows); STARTING, BACKOFF, STOPPING
// and FATAL are not, nor a critical service that is not running. The instances do not
// count: a failing site is the user's to fix and shows in the instances section.
// `ctl status --check`, the wp-dind image's HEALTHCHECK, gives this verdict.
func (s *Status) Unhealthy() []string {
	var bad []string
	for _, svc := range s.Services {
		up := svc.State == "RUNNING" && svc.Ready
		down := (svc.State == "STOPPED" || svc.State == "EXITED") && !svc.Critical
		if up || down {
			continue
		}
		why := fmt.Sprintf("%s %s", svc.Name, svc.State)
		if !svc.Ready {
			why += " (not ready)"
		}
		bad = append(bad, why)
	}
	return bad
}
