package reconciler

import (
	"reflect"
	"testing"
	"time"

	"github.com/wp-dind/wp-dind/pkg/docker"
	"github.com/wp-dind/wp-dind/pkg/instance"
)

// at makes a tracked entry of container c learnt at second sec.
func at(c docker.Container, sec int, gone bool) tracked {
	return tracked{Container: c, at: time.Unix(int64(sec), 0), gone: gone}
}

func withHealth(c docker.Container, health string) docker.Container {
	c.Health = health
	return c
}

// TestMergeListing: a listing replaces what the status knew before it started, and leaves
// what events told since.
func TestMergeListing(t *testing.T) {
	db, web := ctr("a", "db", 0, "running"), ctr("a", "web", 0, "running")
	webExited := ctr("a", "web", 0, "exited")
	php1 := ctr("a", "php", 1, "running")
	tests := []struct {
		name    string
		have    []tracked
		listing []docker.Container
		want    []tracked
	}{
		{
			name:    "first listing",
			listing: []docker.Container{db, web},
			want:    []tracked{at(db, 10, false), at(web, 10, false)},
		},
		{
			name:    "older news replaced, vanished dropped",
			have:    []tracked{at(db, 5, false), at(webExited, 5, false), at(php1, 5, false)},
			listing: []docker.Container{db, web},
			want:    []tracked{at(db, 10, false), at(web, 10, false)},
		},
		{
			name:    "a die after the listing started wins over it",
			have:    []tracked{at(webExited, 11, false)},
			listing: []docker.Container{db, web},
			want:    []tracked{at(db, 10, false), at(webExited, 11, false)},
		},
		{
			name:    "a start after the listing started adds a container it could not see",
			have:    []tracked{at(php1, 12, false)},
			listing: []docker.Container{db, web},
			want:    []tracked{at(db, 10, false), at(web, 10, false), at(php1, 12, false)},
		},
		{
			name:    "a destroy after the listing started hides what it lists",
			have:    []tracked{at(web, 11, true)},
			listing: []docker.Container{db, web},
			want:    []tracked{at(db, 10, false), at(web, 11, true)},
		},
		{
			name:    "a destroy the listing agrees with is forgotten",
			have:    []tracked{at(web, 11, true)},
			listing: []docker.Container{db},
			want:    []tracked{at(db, 10, false)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeListing(tt.have, tt.listing, time.Unix(10, 0))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("merge:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestApplyEvent: each event's effect on the container it names.
func TestApplyEvent(t *testing.T) {
	web := withHealth(ctr("a", "web", 0, "running"), "healthy")
	ev := func(action, health string) docker.Event {
		return docker.Event{Action: action, ContainerID: web.ID, Name: web.Name, Instance: "a", Role: "web", Health: health}
	}
	started := docker.Container{ID: web.ID, Name: web.Name, State: "running", Health: "starting",
		Labels: map[string]string{docker.LabelInstance: "a", docker.LabelRole: "web"}}
	tests := []struct {
		name string
		have []tracked
		ev   docker.Event
		want []tracked
	}{
		{"start of an unknown container adds it", nil, ev("start", ""), []tracked{at(started, 20, false)}},
		{"start restarts the health check", []tracked{at(web, 1, false)}, ev("start", ""),
			[]tracked{at(withHealth(web, "starting"), 20, false)}},
		{"die", []tracked{at(web, 1, false)}, ev("die", ""), []tracked{at(withHealth(ctr("a", "web", 0, "exited"), ""), 20, false)}},
		{"destroy", []tracked{at(web, 1, false)}, ev("destroy", ""), []tracked{at(web, 20, true)}},
		{"health", []tracked{at(web, 1, false)}, ev("health_status", "unhealthy"), []tracked{at(withHealth(web, "unhealthy"), 20, false)}},
		{"oom tells nothing", []tracked{at(web, 1, false)}, ev("oom", ""), []tracked{at(web, 1, false)}},
		{"die of an unknown container waits for a listing", nil, ev("die", ""), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyEvent(tt.have, tt.ev, time.Unix(20, 0))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("apply:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestHealthOf: the health vocabulary of docs/instances.md.
func TestHealthOf(t *testing.T) {
	all := func(health string) []tracked {
		var out []tracked
		for _, r := range instance.Roles {
			out = append(out, at(withHealth(ctr("a", r, 0, "running"), health), 1, false))
		}
		return out
	}
	with := func(cs []tracked, i int, c docker.Container, gone bool) []tracked {
		out := append([]tracked(nil), cs...)
		out[i] = at(c, 1, gone)
		return out
	}
	tests := []struct {
		name     string
		cs       []tracked
		answered bool
		want     string
	}{
		{"all healthy", all("healthy"), false, HealthHealthy},
		{"no health checks", all(""), false, HealthHealthy},
		{"checks starting", all("starting"), false, HealthStarting},
		{"checks starting, the site answered", all("starting"), true, HealthHealthy},
		{"a check fails", with(all("healthy"), 1, withHealth(ctr("a", "php", 0, "running"), "unhealthy"), false), false, HealthUnhealthy},
		{"a check fails after the site answered", with(all("starting"), 1, withHealth(ctr("a", "php", 0, "running"), "unhealthy"), false), true, HealthUnhealthy},
		{"a container stopped", with(all("healthy"), 2, ctr("a", "web", 0, "exited"), false), true, HealthDown},
		{"a container destroyed", with(all("healthy"), 0, ctr("a", "db", 0, "running"), true), true, HealthDown},
		{"a role missing", all("healthy")[:2], true, HealthDown},
		{"none", nil, false, HealthDown},
		{"an old exited container beside the running one", append(all("healthy"), at(ctr("a", "web", 9, "exited"), 1, false)), false, HealthHealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := healthOf(tt.cs, tt.answered); got != tt.want {
				t.Errorf("healthOf = %s, want %s", got, tt.want)
			}
		})
	}
}
