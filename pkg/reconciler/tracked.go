package reconciler

import (
	"slices"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// The status follows the containers through two sources: the listing of each pass, and the
// engine's events in between (start, die, destroy, health_status), so that what `ctl status`
// says of an instance follows what runs within the events' latency, not a pass's. Each fact
// carries when it was learnt; a listing replaces only what it is newer than.

// tracked is one container as the status knows it.
type tracked struct {
	docker.Container
	at   time.Time // when this was learnt: the start of the listing, or the event's arrival
	gone bool      // destroyed; kept until a listing newer than the event no longer has it
}

// mergeListing is what the status knows once a listing started at listedAt arrives: the
// listing's containers, except those an event received after listedAt told more recent news
// of, and the containers such an event added (started since).
func mergeListing(have []tracked, listing []docker.Container, listedAt time.Time) []tracked {
	newer := func(id string) (tracked, bool) {
		i := slices.IndexFunc(have, func(t tracked) bool { return t.ID == id && t.at.After(listedAt) })
		if i < 0 {
			return tracked{}, false
		}
		return have[i], true
	}
	out := make([]tracked, 0, len(listing))
	for _, c := range listing {
		if t, ok := newer(c.ID); ok {
			out = append(out, t)
			continue
		}
		out = append(out, tracked{Container: c, at: listedAt})
	}
	for _, t := range have {
		listed := slices.ContainsFunc(listing, func(c docker.Container) bool { return c.ID == t.ID })
		if !listed && !t.gone && t.at.After(listedAt) {
			out = append(out, t)
		}
	}
	return out
}

// applyEvent is what the status knows after ev, received at now. A started container is
// "starting" until its health check reports: Docker resets the health of every start.
func applyEvent(have []tracked, ev docker.Event, now time.Time) []tracked {
	i := slices.IndexFunc(have, func(t tracked) bool { return t.ID == ev.ContainerID })
	if i < 0 {
		if ev.Action != docker.ActionStart {
			return have // a container the status never saw: the next listing tells
		}
		have = append(have, tracked{Container: docker.Container{
			ID: ev.ContainerID, Name: ev.Name,
			Labels: map[string]string{docker.LabelInstance: ev.Instance, docker.LabelRole: ev.Role},
		}})
		i = len(have) - 1
	}
	t := &have[i]
	switch ev.Action {
	case docker.ActionStart:
		t.State, t.Health, t.gone = "running", "starting", false
	case docker.ActionDie:
		t.State, t.Health = "exited", ""
	case docker.ActionDestroy:
		t.gone = true
	case docker.ActionHealthStatus:
		t.Health = ev.Health
	default:
		return have // oom: the die that follows tells
	}
	t.at = now
	return have
}

// Health of an instance, as `ctl status` shows it.
const (
	HealthHealthy   = "healthy"   // every role runs and the site answered 200 since, or every health check passes
	HealthStarting  = "starting"  // every role runs, a health check has not passed yet, the site has not answered since
	HealthUnhealthy = "unhealthy" // every role runs and a container's health check fails
	HealthDown      = "down"      // a role has no running container (missing, stopped or dead)
	HealthSleeping  = "sleeping"  // asleep: PHP and database stopped on purpose (sleep.go)
)

// healthOf sums up the containers of an instance; answered: the site answered 200 since its
// containers last started (a health check runs only every few seconds, the site is the
// truth). A failing health check outweighs an older answer.
func healthOf(cs []tracked, answered bool) string {
	var live []tracked
	for _, role := range instance.Roles {
		i := slices.IndexFunc(cs, func(t tracked) bool {
			return !t.gone && t.Running() && t.Labels[docker.LabelRole] == string(role)
		})
		if i < 0 {
			return HealthDown
		}
		live = append(live, cs[i])
	}
	if slices.ContainsFunc(live, func(t tracked) bool { return t.Health == "unhealthy" }) {
		return HealthUnhealthy
	}
	if !answered && slices.ContainsFunc(live, func(t tracked) bool { return t.Health == "starting" }) {
		return HealthStarting
	}
	return HealthHealthy
}
